"""The quantile observations extended from a base date (issue 16: a daily run reads what the day changed).

int_quantile_observations holds, per analysis date, every observation through it. A daily run builds a scoped date
from the rows it keeps for the latest earlier date outside the scope (int_refresh_quantile_bases.base_date) and the
events or unit-days after that date, instead of every event since the experiment started. The world gets an
event-granularity quantile metric beside its unit-granularity one (order_value_p50), so both branches run:

* sequences of quiet days and hard cases end equal to a --full-refresh (an event counted twice, or a unit's days
  before the base date added to its kept total, would not: without the bound on the events after the base date —
  the literal of exptrack_after_quantile_bases and the join's `event_date > base_date` — the first test fails);
* rows marked in the warehouse before a quiet day (a value no build writes) come back in the new date's rows: the
  new date was built from the kept base date, not from history.
"""

from __future__ import annotations

import pandas as pd
import pytest
from incremental_lab import Lab, assert_same
from incremental_world import World

pytestmark = pytest.mark.background  # a second pytest process started at collection (background_tests.py)

EVENT_METRIC = "order_value_event_p90"
MARK = -1000.0


def _world(seed: int) -> World:
    """The incremental tests' world with an event-granularity quantile metric on exp_a."""
    world = World(seed)
    world.metrics.append(
        {
            "id": EVENT_METRIC,
            "name": "Order value p90 per order",
            "kind": "quantile",
            "granularity": "event",
            "events": ["purchase"],
            "aggregation": "sum",
            "quantile": 0.9,
            "window_days": 6,
        }
    )
    world.experiments["exp_a"]["secondary_metrics"].append(EVENT_METRIC)
    return world


def _observations(lab: Lab) -> pd.DataFrame:
    frame = lab.read("select metric_id, analysis_date, observed_value from main.int_quantile_observations")
    frame["analysis_date"] = pd.to_datetime(frame["analysis_date"]).dt.date
    return frame


def test_daily_runs_extend_the_quantile_observations_equal_to_a_full_refresh(tmp_path, dbt_manifest):
    lab, world = Lab.duckdb(tmp_path, dbt_manifest), _world(21)
    for _ in range(4):
        world.new_day()
    lab.build(world)
    for case in ("late_events", "first_exposure_earlier", "resend_day", "multi_variant", None):
        world.new_day()
        if case:
            getattr(world, case)()
        lab.build(world, marts=case is None)
    bases = lab.read("select * from main.int_refresh_quantile_bases")
    assert set(bases["metric_id"]) == {EVENT_METRIC, "order_value_p50"} and bases["base_date"].notna().all(), bases
    incremental = lab.tables()
    observations = incremental["int_quantile_observations"]
    assert set(observations["metric_id"]) == {EVENT_METRIC, "order_value_p50"}
    lab.build(world, full_refresh=True)
    assert_same(incremental, lab.tables(), "quantile observations extended: ")


def test_a_quiet_day_builds_the_new_date_from_the_kept_base_date(tmp_path, dbt_manifest):
    import duckdb

    lab, world = Lab.duckdb(tmp_path, dbt_manifest), _world(22)
    for _ in range(5):
        world.new_day()
    lab.build(world)
    with duckdb.connect(lab.resource.path) as con:
        con.execute(f"update main.int_quantile_observations set observed_value = {MARK}")
    new_day = world.new_day()
    lab.build(world)
    observations = _observations(lab)
    earlier = observations[observations["analysis_date"] < new_day]
    assert (earlier["observed_value"] == MARK).all() and len(earlier)
    new = observations[observations["analysis_date"] == new_day]
    for metric_id in (EVENT_METRIC, "order_value_p50"):
        rows = new[new["metric_id"] == metric_id]
        # the base date's rows carried over (event: copied; unit: its total there plus its new unit-days)
        assert (rows["observed_value"] < 0).any(), (metric_id, rows)
    events = new[new["metric_id"] == EVENT_METRIC]
    assert (events["observed_value"] > 0).any(), "the new day's events were not added"
