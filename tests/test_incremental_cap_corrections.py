"""A moved percentile cap corrects the daily deltas instead of rebuilding them (issue 16, on DuckDB): a quiet day
whose new unit-days move revenue_per_user's cap rebuilds that metric's deltas from the new day only
(int_refresh_metric_dates.delta_since_date) and corrects every earlier day to the new cap from the units above the
lower of the two caps (int_refresh_cap_corrections) — a cap moving down under an earlier unit's total and up above
it — and the warehouse equals a full refresh of the same inputs. The cap each deltas row was built with is stored
in the row, so a run that fails after the deltas were rewritten (the refresh state not yet) corrects nothing twice,
and a deltas table written before that column existed is rebuilt whole once.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
from incremental_lab import Lab, assert_same
from incremental_world import World
from test_incremental_more import run_alone

METRIC = ("exp_a", "revenue_per_user")


def lab(root: Path, manifest_path: Path) -> Lab:
    """A DuckDB test warehouse; its daily run builds every incremental and refresh state model."""
    return Lab.duckdb(root, manifest_path)


def big_purchases(world: World, value: float = 1_000.0) -> dt.date:
    """On the latest day, every other unit exp_a analyses within revenue_per_user's window buys for `value` (at
    23:59): more than a tenth of the units jump above every earlier total, so the 90th-percentile cap rises above the
    earlier top units' totals, whose capped values on earlier days rise with it."""
    day = world.days[-1]
    window = next(m for m in world.metrics if m["id"] == "revenue_per_user")["window_days"]
    since = dt.datetime.combine(day, dt.time()) - dt.timedelta(days=window - 1)
    users = sorted(user for user, first in world._first_exposures("exp_a").items() if first >= since)[::2]
    rows = pd.DataFrame(world._event_rows(day, len(users))).assign(
        user_id=users,
        anonymous_id=None,
        event_name="purchase",
        occurred_at=dt.datetime.combine(day, dt.time(23, 59)),
        value=value,
    )
    world.events[day] = pd.concat([world.events[day], rows])
    return day


def cap(runs: Lab) -> float:
    frame = runs.read(
        f"select cap from main.int_metric_caps where experiment_id = '{METRIC[0]}' and metric_id = '{METRIC[1]}'"
    )
    return float(frame["cap"].iloc[0])


def since(runs: Lab, column: str) -> object:
    frame = runs.read(
        f"select {column} from main.int_refresh_metric_dates "
        f"where experiment_id = '{METRIC[0]}' and metric_id = '{METRIC[1]}'"
    )
    return pd.Timestamp(frame[column].iloc[0]).date()


def capped_sums(runs: Lab) -> pd.DataFrame:
    """exp_a's revenue_per_user deltas: the value sums, the entries and the cap, by variant and day."""
    frame = runs.deltas(*METRIC)[["variant", "analysis_date", "delta_n", "delta_sum", "delta_sum_sq", "cap"]]
    return frame.assign(analysis_date=pd.to_datetime(frame["analysis_date"]).dt.date).set_index(
        ["variant", "analysis_date"]
    )


def mark_earlier_days(runs: Lab, before: dt.date) -> None:
    """delta_n + 1000 on exp_a's revenue_per_user rows before `before`: kept by a correction, gone by a rebuild."""
    runs.resource.backend().execute(
        "update main.int_variant_metric_daily_deltas set delta_n = delta_n + 1000 "
        f"where experiment_id = '{METRIC[0]}' and metric_id = '{METRIC[1]}' "
        f"and analysis_date < cast('{before}' as date)"
    )


def unmark(runs: Lab) -> None:
    runs.resource.backend().execute(
        "update main.int_variant_metric_daily_deltas set delta_n = delta_n - 1000 where delta_n >= 1000"
    )


def cap_move(runs: Lab, world: World, move) -> tuple[pd.DataFrame, pd.DataFrame, dt.date]:
    """A new day changed by `move`, run daily with every earlier day's rows marked: (deltas before, after, the day)."""
    before = capped_sums(runs)
    day = world.new_day()
    move()
    mark_earlier_days(runs, day)
    runs.build(world)
    return before, capped_sums(runs), day


def assert_corrected(before: pd.DataFrame, after: pd.DataFrame, day: dt.date, runs: Lab) -> None:
    """Every earlier day was corrected, not rebuilt (its mark kept), with the new cap; some capped sum moved."""
    assert since(runs, "delta_since_date") == day  # the deltas rebuild the new day only
    assert str(since(runs, "since_date")) == "1900-01-01"  # the per-unit values: every unit (their cap moved)
    earlier = after[after.index.get_level_values("analysis_date") < day]
    assert len(earlier) and (earlier["delta_n"] >= 1000).all(), earlier
    assert (earlier["cap"] == cap(runs)).all(), earlier["cap"].unique()
    joined = before.join(earlier, rsuffix="_after", how="inner")
    moved = (joined["delta_sum"] - joined["delta_sum_after"]).abs() > 1e-9
    assert moved.any(), "no earlier day's capped sum moved: the case does not test the correction"
    corrected = runs.read("select * from main.int_refresh_cap_corrections")
    assert set(zip(corrected["experiment_id"], corrected["metric_id"], strict=True)) >= {METRIC}


def assert_equals_full_refresh(runs: Lab, world: World, context: str) -> None:
    """The marks off, a daily run with nothing new that builds the marts too, then every table equals a full
    refresh."""
    unmark(runs)
    runs.build(world, marts=True)
    incremental = runs.tables()
    runs.build(world, full_refresh=True)
    assert_same(incremental, runs.tables(), context)


def test_a_cap_moving_down_then_up_corrects_earlier_days_and_equals_a_full_refresh(tmp_path, dbt_manifest):
    runs = lab(tmp_path, dbt_manifest)
    world = World(11)
    for _ in range(6):
        world.new_day()
    runs.build(world)

    # down: a sale day; the 90th percentile falls under the earlier total of the top units
    old_cap = cap(runs)
    before, after, day = cap_move(runs, world, world.shift_cap)
    assert cap(runs) < old_cap
    assert_corrected(before, after, day, runs)
    assert_equals_full_refresh(runs, world, "cap moved down: ")

    # up: big purchases by many units lift the cap above the earlier top units' totals
    old_cap = cap(runs)
    before, after, day = cap_move(runs, world, lambda: big_purchases(world))
    assert cap(runs) > old_cap
    assert_corrected(before, after, day, runs)
    assert_equals_full_refresh(runs, world, "cap moved up: ")


def test_a_run_failing_after_the_deltas_corrects_nothing_twice(tmp_path, dbt_manifest):
    runs = lab(tmp_path, dbt_manifest)
    world = World(12)
    for _ in range(6):
        world.new_day()
    runs.build(world)
    old_cap = cap(runs)
    world.new_day()
    world.shift_cap()
    # the deltas rewritten with the new cap, the refresh state (int_refresh_caps, int_refresh_state) not: a run that
    # failed between them; the next run sees the same changes again
    succeeded, output = run_alone(runs, world, "+int_variant_metric_daily_deltas")
    assert succeeded, output
    assert cap(runs) < old_cap
    assert (capped_sums(runs)["cap"] == cap(runs)).all()
    prior = runs.read(
        f"select cap from main.int_refresh_caps where experiment_id = '{METRIC[0]}' and metric_id = '{METRIC[1]}'"
    )
    assert float(prior["cap"].iloc[0]) == old_cap  # the state still holds the old cap
    runs.build(world)
    assert runs.read("select count(*) as n from main.int_refresh_cap_corrections")["n"].iloc[0] == 0
    assert_equals_full_refresh(runs, world, "after a failed run: ")


def test_deltas_without_the_cap_column_are_rebuilt_whole_once(tmp_path, dbt_manifest):
    runs = lab(tmp_path, dbt_manifest)
    world = World(13)
    for _ in range(5):
        world.new_day()
    runs.build(world)
    # a deltas table written before the rows recorded their cap (an older exptrack)
    runs.resource.backend().execute("alter table main.int_variant_metric_daily_deltas drop column cap")
    world.new_day()
    world.shift_cap()
    runs.build(world)
    assert (capped_sums(runs)["cap"] == cap(runs)).all()
    assert_equals_full_refresh(runs, world, "deltas without caps: ")
