"""The segment sums kept by per-unit deltas (int_segment_metric_sums, issue 16, on DuckDB).

fct_segment_metric_stats no longer re-sums every analysed unit's value: the hooks of int_unit_metric_values and
int_unit_attributes log the segment contributions of the rows they change (old ones out, new ones in) into
int_segment_value_changes in the transaction of the change, and int_segment_metric_sums adds the log to its stored
sums and empties it (macros/exptrack_value_changes.sql). A sentinel group planted in the stored sums survives a run
that applied deltas and is gone after a whole rebuild: every case below checks that it took the delta path, then
compares every table with a full refresh.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from incremental_lab import Lab, assert_same
from incremental_world import World
from test_incremental_more import run_alone

pytestmark = pytest.mark.background  # a second pytest process started at collection (background_tests.py)

SENTINEL = "exp_sentinel"
STATS = ["sum", "sum_sq", "sum_den", "sum_den_sq", "sum_num_den", "sum_x", "sum_x_sq", "sum_xy"]
STATS += ["sum_w", "sum_w_sq", "sum_xw", "sum_xd", "sum_wy", "sum_wd"]


def first_days(root: Path, manifest_path: Path, seed: int, days: int = 6) -> tuple[Lab, World]:
    runs, world = Lab.duckdb(root, manifest_path), World(seed)
    for _ in range(days):
        world.new_day()
    runs.build(world, marts=True)
    return runs, world


def plant_sentinel(runs: Lab) -> None:
    """A group no unit has: kept by a run that adds deltas to the stored sums, dropped by a whole rebuild."""
    runs.resource.backend().execute(
        f"insert into main.int_segment_metric_sums values ('{SENTINEL}', 'm', 'control', 'platform', 'x', 1, "
        + ", ".join("1.0" for _ in STATS)
        + ")"
    )


def take_sentinel(runs: Lab) -> bool:
    """Whether the sentinel survived; it is removed either way."""
    where = f"where experiment_id = '{SENTINEL}'"
    found = runs.read(f"select count(*) as rows from main.int_segment_metric_sums {where}")["rows"].iloc[0]
    runs.resource.backend().execute(f"delete from main.int_segment_metric_sums {where}")
    return bool(found)


def log(runs: Lab):
    return runs.read("select * from main.int_segment_value_changes")


def assert_equals_full_refresh(runs: Lab, world: World, context: str) -> None:
    """A daily run with nothing new that builds the marts too, then every table equals a full refresh."""
    runs.build(world, marts=True)
    incremental = runs.tables()
    runs.build(world, full_refresh=True)
    assert_same(incremental, runs.tables(), context)


def pairs(runs: Lab, units: str) -> int:
    """How many (unit value row, attribute row) pairs the units of `units` (a query of experiment_id, user_id) have:
    what a unit's rows contribute to the segment groups."""
    return int(
        runs.read(
            "select count(*) as pairs from main.int_unit_metric_values as v "
            "inner join main.int_unit_attributes as a on v.experiment_id = a.experiment_id and v.user_id = a.user_id "
            f"where (v.experiment_id, v.user_id) in ({units})"
        )["pairs"].iloc[0]
    )


def logged_new_rows_from_staged_table(runs: Lab) -> bool:
    """Whether a post-hook of int_unit_metric_values logged its new rows (+1) from the temporary table dbt staged them
    in for the append (`<model>__dbt_tmp<timestamp>`), not by finding them again in the whole table (dbt's debug log
    of the lab's runs; exptrack_staged_new_rows)."""
    text = (runs.root / "logs" / "dbt.log").read_text()
    staged = r"cast\(1 as bigint\) as change_sign from \S*int_unit_metric_values__dbt_tmp\S* as refreshed\)"
    return re.search(staged, text) is not None


def test_a_quiet_day_logs_only_the_units_it_reaches(tmp_path, dbt_manifest):
    runs, world = first_days(tmp_path, dbt_manifest, seed=21, days=8)
    plant_sentinel(runs)
    # a quiet day: two session starts of one unit, one exposure to an unregistered experiment (no purchase: no cap
    # moves, no new analysed unit)
    day = world.new_day()
    user = "u007"
    world.events[day] = world.events[day].iloc[:2].assign(user_id=user, anonymous_id=None, event_name="session_start")
    world.exposures[day] = world.exposures[day].iloc[:1].assign(experiment_id="exp_d")
    runs.dbt_output = []  # dbt.log at its default (debug) level: logged_new_rows_from_staged_table reads statements
    succeeded, output = run_alone(runs, world, "+int_unit_metric_values")
    assert succeeded, output
    changes = log(runs)
    assert not changes["is_rebuild"].any()
    added = int(changes.loc[changes["n"] > 0, "n"].sum())
    # the rows a quiet day can reach: the active unit's, and those of units exposed the day before (d1 retention
    # becomes observable) — read from the assignments, not from the scope tables
    previous = world.days[-2]
    reached = pairs(
        runs,
        f"select experiment_id, user_id from main.int_assignments where user_id = '{user}' "
        f"or exposure_date = cast('{previous}' as date)",
    )
    total = pairs(runs, "select experiment_id, user_id from main.int_assignments")
    assert 0 < added <= reached, f"{added} pairs logged, {reached} reachable"
    assert logged_new_rows_from_staged_table(runs), "the new rows were found again in the whole unit-value table"
    assert reached * 2 < total, "the quiet day reaches most units: the case does not test the bound"

    runs.build(world, marts=True)
    assert take_sentinel(runs), "the sums were rebuilt whole, not kept by deltas"
    assert log(runs).empty, "the applied log was not emptied"
    assert_equals_full_refresh(runs, world, "quiet day: ")


def test_a_run_failing_before_the_sums_is_applied_once_by_the_next_run(tmp_path, dbt_manifest):
    runs, world = first_days(tmp_path, dbt_manifest, seed=22)
    plant_sentinel(runs)
    # two runs that stop after the unit values (a failing test, a crash): their changes wait in the log
    for _ in range(2):
        world.new_day()
        world.shift_cap()
        world.late_exposures()
        succeeded, output = run_alone(runs, world, "+int_unit_metric_values")
        assert succeeded, output
    pending = log(runs)
    assert not pending.empty and not pending["is_rebuild"].any()
    runs.build(world, marts=True)
    assert take_sentinel(runs), "the sums were rebuilt whole, not kept by deltas"
    assert log(runs).empty
    assert_equals_full_refresh(runs, world, "after two failed runs: ")


def _first_exposure(runs: Lab) -> tuple[str, object]:
    """An exp_a unit with more metric rows than one and its first exposure time."""
    frame = runs.read(
        "select user_id, first_exposed_at from main.int_assignments where experiment_id = 'exp_a' "
        "order by user_id limit 1"
    )
    return str(frame["user_id"].iloc[0]), frame["first_exposed_at"].iloc[0]


def _set_platform(world: World, user: str, exposed_at, platform: str) -> None:
    """Re-send the exposure partition holding the unit's first exp_a exposure with another platform on it. The
    loader writes a day's attributes with its exposures, and the refresh scope follows the exposures partition: the
    re-sent partition also gets one more exposure of the unit to the unregistered exp_d (its exp_a assignment, and so
    its values, stay as they were)."""
    for day, frame in world.exposures.items():
        row = (frame["user_id"] == user) & (frame["experiment_id"] == "exp_a") & (frame["exposed_at"] == exposed_at)
        if row.any():
            frame = frame.copy()
            frame.loc[row, "platform"] = platform
            extra = len(frame[frame["experiment_id"] == "exp_d"]) + 1
            other = (
                frame.loc[row]
                .iloc[:1]
                .assign(experiment_id="exp_d", exposed_at=exposed_at + pd.Timedelta(seconds=extra))
            )
            world.exposures[day] = pd.concat([frame, other], ignore_index=True)
            return
    raise AssertionError(f"no exposure of {user} at {exposed_at}")


def tv_groups(runs: Lab) -> set[tuple[str, int]]:
    frame = runs.read(
        "select metric_id, n from main.fct_segment_metric_stats where experiment_id = 'exp_a' "
        "and attribute = 'platform' and attribute_value = 'tv'"
    )
    return {(str(m), int(n)) for m, n in zip(frame["metric_id"], frame["n"], strict=True)}


def test_a_unit_changing_attributes_only_moves_its_segments_and_an_emptied_group_goes(tmp_path, dbt_manifest):
    runs, world = first_days(tmp_path, dbt_manifest, seed=23)
    user, exposed_at = _first_exposure(runs)
    old_platform = runs.read(
        f"select attribute_value from main.int_unit_attributes where experiment_id = 'exp_a' and user_id = '{user}' "
        "and attribute = 'platform'"
    )["attribute_value"].iloc[0]
    metrics = set(
        runs.read(
            f"select metric_id from main.int_unit_metric_values where experiment_id = 'exp_a' and user_id = '{user}'"
        )["metric_id"]
    )
    values_before = runs.read(f"select * from main.int_unit_metric_values where user_id = '{user}' order by 1, 2")

    plant_sentinel(runs)
    _set_platform(world, user, exposed_at, "tv")
    runs.build(world, marts=True)
    values_after = runs.read(f"select * from main.int_unit_metric_values where user_id = '{user}' order by 1, 2")
    assert values_after.equals(values_before), "the unit's values moved: the case does not test attributes alone"
    assert tv_groups(runs) == {(m, 1) for m in metrics}  # the unit alone, in its new segment, for every metric
    assert take_sentinel(runs), "the sums were rebuilt whole, not kept by deltas"
    assert_equals_full_refresh(runs, world, "attributes changed: ")

    # back to the old platform: the 'tv' groups' n reaches 0 and they go, as a full refresh has none
    plant_sentinel(runs)
    _set_platform(world, user, exposed_at, old_platform)
    runs.build(world, marts=True)
    assert tv_groups(runs) == set()
    assert take_sentinel(runs), "the sums were rebuilt whole, not kept by deltas"
    assert_equals_full_refresh(runs, world, "group emptied: ")
