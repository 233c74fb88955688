"""The literal bounds of int_novelty_unit_periods' refresh scope (issue 16: a daily run reads what the day changed).

macros/exptrack_novelty_bounds.sql writes what changed into the scope as literals: the earliest exposure day a
changed unit-day can reach (min(since_date) − (2k − 1), k the longest primary metric's novelty period), the earliest
one a moved last analysis date can reach, and the primary metrics rebuilt whole (a moved cap) as a list. Each is
exact only if it lets through every unit the subqueries select:

* a late event on the last day of an old unit's late period (exposure + 2k − 1, the farthest day a change can
  reach back from) must recompute that unit: with a reach of 2k − 2 or less the unit sits before the bound and keeps
  its stale period (the first test fails);
* a percentile cap moving on an experiment's primary metric changes every unit's capped periods: without the list of
  whole primary metrics, the units of earlier exposure days keep the old cap (the second test fails);
* a run with nothing in the novelty scope reads no row (`false`), and a quiet day bounds the exposure days it reads
  to the recent ones, not history (the compiled SQL of the run).
Every sequence ends equal to a --full-refresh of the same inputs.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pandas as pd
import pytest
from incremental_lab import Lab, assert_same, normalized
from incremental_world import World

pytestmark = pytest.mark.background  # a second pytest process started at collection (background_tests.py)

NOVELTY = ["int_novelty_unit_periods", "int_novelty_exposure_day_sums", "lifecycle_novelty_stats"]


def _lab(root: Path, manifest_path: Path) -> Lab:
    """A DuckDB lab whose runs build lifecycle_novelty_stats too."""
    lab = Lab.duckdb(root, manifest_path)
    lab.full_selection = [*lab.daily_selection, "+lifecycle_novelty_stats"]
    return lab


def _novelty(lab: Lab) -> dict[str, pd.DataFrame]:
    return {name: normalized(lab.read(f"select * from main.{name}")) for name in NOVELTY}


def _equal_to_a_full_refresh(lab: Lab, world: World, context: str) -> None:
    lab.build(world, marts=True)
    incremental = _novelty(lab)
    lab.build(world, full_refresh=True)
    assert_same(incremental, _novelty(lab), context)


def _built(root: Path, manifest_path: Path, seed: int, days: int = 9, primary: str | None = None) -> tuple[Lab, World]:
    """A lab and a world of `days` days, built; `primary`: exp_a's primary metric instead of purchase_conversion."""
    lab, world = _lab(root, manifest_path), World(seed)
    if primary:
        secondary = ["purchase_conversion", "purchases_per_checkout", "d1_retention", "order_value_p50"]
        world.experiments["exp_a"].update(primary_metric=primary, secondary_metrics=secondary)
    for _ in range(days):
        world.new_day()
    lab.build(world)
    return lab, world


def _compiled_scope(lab: Lab) -> str:
    """The scope condition of int_novelty_unit_periods' last run (its compiled select)."""
    path = next((lab.root / "target" / "compiled").rglob("int_novelty_unit_periods.sql"))
    sql = path.read_text()
    return sql[sql.index("scoped_units as") : sql.index("unit_periods as")]


def test_a_late_event_on_the_last_day_of_an_old_units_late_period_recomputes_it(tmp_path, dbt_manifest):
    lab, world = _built(tmp_path, dbt_manifest, 31)
    new_day = world.new_day()
    candidates = lab.read(
        "select periods.user_id, periods.period_days, assignments.first_exposed_at "
        "from main.int_novelty_unit_periods as periods inner join main.int_assignments as assignments "
        "on periods.experiment_id = assignments.experiment_id and periods.user_id = assignments.user_id "
        "where periods.experiment_id = 'exp_a' and periods.y_late = 0 and assignments.unit_type = 'user_id' "
        f"and periods.exposure_date <= cast('{new_day - dt.timedelta(days=7)}' as date) "
        "order by periods.exposure_date, periods.user_id"
    )
    assert len(candidates), "no old exp_a unit without a late-period purchase"
    unit = candidates.iloc[0]
    last_late_day = pd.Timestamp(unit["first_exposed_at"]) + pd.Timedelta(days=2 * int(unit["period_days"]) - 1)
    event = pd.DataFrame(world._event_rows(new_day, 1)).assign(
        user_id=unit["user_id"], anonymous_id=None, event_name="purchase", occurred_at=last_late_day.to_pydatetime()
    )
    world.events[new_day] = pd.concat([world.events[new_day], event])
    lab.build(world)
    after = lab.read(
        "select y_late from main.int_novelty_unit_periods "
        f"where experiment_id = 'exp_a' and user_id = '{unit['user_id']}'"
    )
    assert after["y_late"].tolist() == [1.0], "the late event on the late period's last day was not counted"
    _equal_to_a_full_refresh(lab, world, "late event at the bound: ")


def test_a_moved_cap_on_a_primary_metric_recomputes_every_unit_of_it(tmp_path, dbt_manifest):
    lab, world = _built(tmp_path, dbt_manifest, 32, primary="revenue_per_user")  # a percentile-capped primary
    before = lab.read(
        "select user_id, y_early, y_late from main.int_novelty_unit_periods where experiment_id = 'exp_a'"
    )
    world.new_day()
    world.shift_cap()
    lab.build(world)
    whole = lab.read("select * from main.int_refresh_metric_dates where since_date <= cast('1900-01-01' as date)")
    assert ("exp_a", "revenue_per_user") in set(zip(whole["experiment_id"], whole["metric_id"], strict=True))
    after = lab.read("select user_id, y_early, y_late from main.int_novelty_unit_periods where experiment_id = 'exp_a'")
    moved = before.merge(after, on="user_id", suffixes=("_before", "_after"))
    assert (moved["y_late_before"] != moved["y_late_after"]).any() or (
        moved["y_early_before"] != moved["y_early_after"]
    ).any(), (
        "no earlier unit's period changed: the moved cap did not reach the earlier units (stale periods), "
        "or the case moved no cap"
    )
    _equal_to_a_full_refresh(lab, world, "moved cap on a primary metric: ")


def test_a_run_reads_only_recent_exposure_days_and_nothing_when_nothing_changed(tmp_path, dbt_manifest):
    lab, world = _built(tmp_path, dbt_manifest, 33, days=12)
    new_day = world.new_day()
    lab.build(world)
    bounds = [
        dt.date.fromisoformat(day) for day in re.findall(r"exposure_date >= cast\('([0-9-]+)'", _compiled_scope(lab))
    ]
    assert bounds and min(bounds) >= new_day - dt.timedelta(days=2 * 7), bounds  # k ≤ 7: recent days only
    lab.build(world)  # the same inputs again: nothing changed
    scope = _compiled_scope(lab)
    assert re.search(r"\)\s*and false\)", scope), scope
    _equal_to_a_full_refresh(lab, world, "quiet and empty runs: ")
