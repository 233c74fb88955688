"""A moved percentile cap re-caps the stored unit values in place (int_unit_metric_values, issue 16, on DuckDB).

A quiet day whose sale moves revenue_per_user's 90th-percentile cap (World.shift_cap) changes the capped value of
every unit above the lower of the old and new caps, but the uncapped total only of the units with unit-days on the
new day. The rows keep that total (`numerator_total`), so the run recomputes from their unit-days only the units the
day reaches (unit-days on it, or exposed on it) and re-caps the others' stored totals: the rows it rewrites are
counted (a mark on every row survives where a row is not recomputed), and the warehouse equals a full refresh. A run
that fails after the re-cap (the refresh state keeps the old cap) re-caps the same rows to the same values, and a
table written before the column existed is rebuilt whole once.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from incremental_lab import Lab, assert_same
from incremental_world import World
from test_incremental_more import run_alone

METRIC = ("exp_a", "revenue_per_user")
MARK = 1024.0  # added to every row's covariate before a run: kept by a re-cap or an untouched row, gone by a recompute


def first_days(root: Path, manifest_path: Path, seed: int, days: int = 6) -> tuple[Lab, World]:
    runs, world = Lab.duckdb(root, manifest_path), World(seed)
    for _ in range(days):
        world.new_day()
    runs.build(world)
    return runs, world


def cap(runs: Lab) -> float:
    frame = runs.read(
        f"select cap from main.int_metric_caps where experiment_id = '{METRIC[0]}' and metric_id = '{METRIC[1]}'"
    )
    return float(frame["cap"].iloc[0])


def values(runs: Lab) -> pd.DataFrame:
    """exp_a's revenue_per_user values by unit."""
    return runs.read(
        "select user_id, metric_value, covariate, numerator_total from main.int_unit_metric_values "
        f"where experiment_id = '{METRIC[0]}' and metric_id = '{METRIC[1]}'"
    ).set_index("user_id")


def reached_by(runs: Lab, day: object) -> set[str]:
    """exp_a's units a new `day` reaches for revenue_per_user: a unit-day on it, or exposed on it (read from the
    unit-day and assignment tables, not from the scope tables)."""
    frame = runs.read(
        "select user_id from main.int_unit_metric_daily "
        f"where experiment_id = '{METRIC[0]}' and metric_id = '{METRIC[1]}' "
        f"and activity_date = cast('{day}' as date) "
        "union select user_id from main.int_assignments "
        f"where experiment_id = '{METRIC[0]}' and exposure_date = cast('{day}' as date)"
    )
    return set(frame["user_id"])


def mark(runs: Lab) -> None:
    runs.resource.backend().execute(f"update main.int_unit_metric_values set covariate = covariate + {MARK}")


def unmark(runs: Lab) -> None:
    """The marks off the rows that kept them (a covariate is a sum of non-negative amounts, far below MARK). The
    marks went in and out outside the model's hooks, so the segment sums' change log (int_segment_value_changes) saw
    only the runs' side of them: a marker row makes the next run rebuild those sums whole."""
    backend = runs.resource.backend()
    backend.execute(f"update main.int_unit_metric_values set covariate = covariate - {MARK} where covariate >= {MARK}")
    backend.execute("insert into main.int_segment_value_changes (is_rebuild, n) values (true, 0)")


def assert_equals_full_refresh(runs: Lab, world: World, context: str) -> None:
    """A daily run with nothing new that builds the marts too, then every table equals a full refresh."""
    runs.build(world, marts=True)
    incremental = runs.tables()
    runs.build(world, full_refresh=True)
    assert_same(incremental, runs.tables(), context)


def test_a_moved_cap_recomputes_only_the_units_the_day_reaches_and_recaps_the_others(tmp_path, dbt_manifest):
    # ten days: units exposed before revenue_per_user's 7-day window have no unit-day on the sale day, and the top
    # ones stay above the lowered cap
    runs, world = first_days(tmp_path, dbt_manifest, seed=11, days=10)
    old_cap, before = cap(runs), values(runs)
    mark(runs)
    day = world.new_day()
    world.shift_cap()
    runs.build(world)
    assert cap(runs) < old_cap  # the sale moved the cap down

    after = values(runs)
    marked = before["covariate"].reindex(after.index) + MARK  # NaN for a unit new since: recomputed
    recomputed = set(after.index[~((after["covariate"] - marked).abs() < 1e-6)])
    assert recomputed, "the new day recomputed no unit: the case does not test the scope"
    reached = reached_by(runs, day)
    assert recomputed <= reached, f"units the day does not reach rewritten: {sorted(recomputed - reached)[:5]}"
    kept = after.loc[sorted(set(after.index) - recomputed)]
    moved = (kept["metric_value"] - before.loc[kept.index, "metric_value"]).abs() > 1e-9
    assert moved.any(), "no kept unit's capped value moved: the case does not test the re-cap"
    assert (kept["metric_value"] <= cap(runs) + 1e-9).all() and (kept["numerator_total"] >= kept["metric_value"]).all()

    unmark(runs)
    assert_equals_full_refresh(runs, world, "cap moved: ")


def test_a_run_failing_after_the_recap_recaps_the_same_rows_again(tmp_path, dbt_manifest):
    runs, world = first_days(tmp_path, dbt_manifest, seed=12)
    old_cap = cap(runs)
    world.new_day()
    world.shift_cap()
    # the unit values rewritten under the new cap, the refresh state (int_refresh_caps, int_refresh_value_dates) not:
    # a run that failed between them; the next run sees the same changes (the cap moved) again
    succeeded, output = run_alone(runs, world, "+int_unit_metric_values")
    assert succeeded, output
    assert cap(runs) < old_cap
    prior = runs.read(
        f"select cap from main.int_refresh_caps where experiment_id = '{METRIC[0]}' and metric_id = '{METRIC[1]}'"
    )
    assert float(prior["cap"].iloc[0]) == old_cap  # the state still holds the old cap
    assert (values(runs)["metric_value"] <= cap(runs) + 1e-9).all()
    assert_equals_full_refresh(runs, world, "after a failed run: ")


def test_unit_values_without_the_total_column_are_rebuilt_whole_once(tmp_path, dbt_manifest):
    runs, world = first_days(tmp_path, dbt_manifest, seed=13, days=5)
    # a table written before the rows kept their uncapped total (an older exptrack)
    runs.resource.backend().execute("alter table main.int_unit_metric_values drop column numerator_total")
    mark(runs)
    world.new_day()
    world.shift_cap()
    runs.build(world)
    rows = runs.read("select covariate, numerator_total from main.int_unit_metric_values")
    assert rows["numerator_total"].notna().all()
    assert not (rows["covariate"] >= MARK).any()  # every row rebuilt, none kept with its mark
    assert_equals_full_refresh(runs, world, "unit values without totals: ")
