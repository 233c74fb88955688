"""Incremental value-side models (issue 16): the retention cohorts' unit-days (int_retention_active_days), the unit
values (int_unit_metric_values), the quantile models and the novelty unit periods (int_novelty_unit_periods).

Cases the randomized property (test_incremental_models.py) does not draw: which events count as retention activity
changes with a metric of the experiment (a retention metric's events), so every day of the experiments using it is
recounted — not only the days whose events changed. Each sequence ends with every compared table equal to a
--full-refresh of the same inputs (incremental_lab.assert_same), and checks that the change did move earlier rows
(otherwise the equality would prove nothing).
"""

from __future__ import annotations

import pandas as pd
from incremental_lab import Lab, assert_same
from incremental_world import World

ACTIVE_DAYS = "select * from main.int_retention_active_days where experiment_id = 'exp_a'"


def _first_days(lab: Lab, world: World, days: int = 4) -> None:
    for _ in range(days):
        world.new_day()
    lab.build(world)


def _with_lifecycle_stats(lab: Lab) -> Lab:
    """The lab also builds and compares the lifecycle statistics (full tables over the incremental unit tables)."""
    for name in ("lifecycle_novelty_stats", "lifecycle_interaction_stats"):
        lab.marts.append(name)
        lab.full_selection.append(f"+{name}")
    return lab


def _rows(frame: pd.DataFrame) -> set[tuple]:
    return set(frame.astype(str).itertuples(index=False, name=None))


def test_changed_retention_events_recount_every_day_of_the_experiments_using_them(tmp_path, dbt_manifest):
    lab, world = Lab.duckdb(tmp_path, dbt_manifest), World(11)
    _first_days(lab, world)
    before = lab.read(ACTIVE_DAYS)
    metric = next(m for m in world.metrics if m["id"] == "d1_retention")
    metric["events"] = ["purchase", "checkout_started"]  # was session_start: other days count as active
    world.new_day()
    lab.build(world, marts=True)
    after = lab.read(ACTIVE_DAYS)
    first_days = set(map(str, world.days[:4]))
    assert {row[4] for row in _rows(before) ^ _rows(after)} & first_days, "the edit moved no earlier unit-day"
    incremental = lab.tables()
    lab.build(world, full_refresh=True)
    assert_same(incremental, lab.tables(), "retention events changed: ")


def test_daily_runs_keep_the_cohorts_equal_to_a_full_refresh_as_eligibility_moves(tmp_path, dbt_manifest):
    """Quiet days, late events, a first exposure moving earlier: each new day adds unit-days to the cohorts of the 30
    days before it and moves every cohort's eligibility (the data's last day), makes units eligible for the unit
    values and the novelty periods; everything (the lifecycle statistics too) still equals a full refresh."""
    lab, world = _with_lifecycle_stats(Lab.duckdb(tmp_path, dbt_manifest)), World(12)
    _first_days(lab, world)
    for case in (None, "late_events", None, "first_exposure_earlier"):
        world.new_day()
        if case:
            getattr(world, case)()
        lab.build(world)
    world.new_day()
    lab.build(world, marts=True)
    incremental = lab.tables()
    cohorts = incremental["fct_retention_cohorts"]
    assert (cohorts["retained_units"] > 0).any() and (cohorts["eligible_units"] > cohorts["retained_units"]).any()
    assert len(incremental["lifecycle_novelty_stats"]) and len(incremental["int_novelty_unit_periods"])
    lab.build(world, full_refresh=True)
    assert_same(incremental, lab.tables(), "daily runs: ")


def test_a_quiet_day_rebuilds_only_the_new_day_of_the_value_side_models(tmp_path, dbt_manifest):
    """The rows a new day does not touch are kept, not recomputed: rows marked in the warehouse before a quiet day's
    run (a value no build writes) keep their mark — the earlier analysis dates of the quantile statistics, the earlier
    active days of the retention unit-days, the values of units without a new unit-day — while the new day's rows
    are built."""
    import duckdb

    lab, world = Lab.duckdb(tmp_path, dbt_manifest), World(13)
    _first_days(lab, world)
    world.new_day()
    lab.build(world)
    marks = {
        "int_variant_quantile_stats": "n_obs",
        "int_retention_active_days": "day_since_exposure",
        "int_unit_metric_values": "covariate",
    }
    with duckdb.connect(lab.resource.path) as con:
        for table, column in marks.items():
            con.execute(f"update main.{table} set {column} = -7")
    new_day = world.new_day()
    lab.build(world)
    quantiles = lab.read("select analysis_date, n_obs from main.int_variant_quantile_stats")
    dates = pd.to_datetime(quantiles["analysis_date"]).dt.date
    assert (quantiles.loc[dates < new_day, "n_obs"] == -7).all() and (
        quantiles.loc[dates == new_day, "n_obs"] >= 0
    ).all()
    assert (dates == new_day).any()
    active = lab.read("select activity_date, day_since_exposure from main.int_retention_active_days")
    days = pd.to_datetime(active["activity_date"]).dt.date
    assert (active.loc[days < new_day, "day_since_exposure"] == -7).all()
    assert (active.loc[days == new_day, "day_since_exposure"] >= 0).all() and (days == new_day).any()
    values = lab.read(
        "select covariate = -7 as kept, count(*) as n from main.int_unit_metric_values "
        "where metric_id = 'purchases_per_checkout' group by 1"
    )
    assert set(values["kept"]) == {True, False}, values  # units active on the new day recomputed, the others kept
