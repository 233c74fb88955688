"""The novelty check's incremental sums (issue 16), on DuckDB: lifecycle_novelty_stats adds per-exposure-day sums
(int_novelty_exposure_day_sums) instead of summing every unit, and int_novelty_unit_periods recomputes a unit only
when a change reaches its first 2k days. A daily run re-sums only the exposure days whose unit periods it replaced —
including a day a unit left (its first exposure moved, it became multi-variant, a re-sent exposure day dropped it) —
and after any of the hard cases the three tables equal a full refresh to 1e-9. A quiet day leaves old exposure days
and the periods of old units active on it as they were (marks written into the warehouse survive).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from incremental_lab import Lab, assert_same, normalized
from incremental_world import World

pytestmark = pytest.mark.background  # a second pytest process started at collection (background_tests.py)

NOVELTY = ["int_novelty_unit_periods", "int_novelty_exposure_day_sums", "lifecycle_novelty_stats"]
MARK = -7.0
"""A value no build writes: a row keeping it was left alone by the run."""
MARKED = [("int_novelty_exposure_day_sums", "sum_cross"), ("int_novelty_unit_periods", "y_late")]
"""The (table, column) the quiet day's check marks."""


def novelty_lab(root, manifest_path) -> Lab:
    """A DuckDB lab whose full selection (and a run with marts) builds lifecycle_novelty_stats too."""
    lab = Lab.duckdb(root, manifest_path)
    lab.full_selection = [*lab.daily_selection, "+lifecycle_novelty_stats"]
    return lab


def exposure_moves_earlier(world: World, from_day: dt.date, to_day: dt.date) -> None:
    """Exposures of the units first exposed to exp_a on `from_day`, dated `to_day`, arriving in the latest partition:
    old units (their novelty periods already closed) move to another exposure day."""
    exposed = world.exposures[from_day]
    moved = exposed[exposed["experiment_id"] == "exp_a"].head(3)
    late = moved.assign(exposed_at=pd.Timestamp(dt.datetime.combine(to_day, dt.time(1))))
    world.exposures[world.days[-1]] = pd.concat([world.exposures[world.days[-1]], late])


def novelty_tables(lab: Lab) -> dict[str, pd.DataFrame]:
    """The three novelty tables, normalized as incremental_lab compares them."""
    return {name: normalized(lab.read(f"select * from main.{name}")) for name in NOVELTY}


def mark_and_run_a_quiet_day(lab: Lab, world: World) -> None:
    """Marks on every novelty row, then a quiet day: the exposure day whose late period closes on the new day (and the
    days of units active within their first 2k days) are re-summed, the older days keep their mark; units exposed
    long ago and active on the new day keep their periods."""
    import duckdb

    with duckdb.connect(lab.resource.path) as con:
        for table, column in MARKED:  # the values before the marks, to put back after the run (below)
            con.execute(f"create table main.{table}_unmarked as select * from main.{table}")
            con.execute(f"update main.{table} set {column} = {MARK}")
    new_day = world.new_day()
    lab.build(world)
    sums = lab.read("select exposure_date, sum_cross from main.int_novelty_exposure_day_sums")
    exposure = pd.to_datetime(sums["exposure_date"]).dt.date
    closing = new_day - dt.timedelta(days=3)  # k = 2 for purchase_conversion (window 5): exposure + 2k − 1 = new day
    assert (sums.loc[exposure == closing, "sum_cross"] != MARK).all() and (exposure == closing).any()
    old = exposure < world.days[2]
    assert old.any() and (sums.loc[old, "sum_cross"] == MARK).all(), "an old exposure day was re-summed"
    periods = lab.read(
        "select p.y_late from main.int_novelty_unit_periods as p "
        f"where p.exposure_date < cast('{world.days[2]}' as date) and exists ("
        "select 1 from main.int_unit_metric_daily as d where d.experiment_id = p.experiment_id "
        "and d.metric_id = p.metric_id and d.user_id = p.user_id "
        f"and d.activity_date = cast('{new_day}' as date))"
    )
    assert len(periods) and (periods["y_late"] == MARK).all(), "an old unit active on the new day was recomputed"
    restore_marked(lab)  # the hard cases below compare values


def restore_marked(lab: Lab) -> None:
    """The marks out again: a row still holding one was left alone by the run, so its value before the mark is
    what an unmarked run would have left (the rows the run rebuilt hold their new values). This replaces a full
    refresh of every model here; the end of the test compares every novelty table with a full refresh anyway."""
    import duckdb

    with duckdb.connect(lab.resource.path) as con:
        for table, column in MARKED:
            keys = [name for name in con.table(f"main.{table}").columns if name != column]
            match = " and ".join(f"u.{key} is not distinct from t.{key}" for key in keys)
            con.execute(
                f"update main.{table} as t set {column} = u.{column} from main.{table}_unmarked as u "
                f"where t.{column} = {MARK} and {match}"
            )
            con.execute(f"drop table main.{table}_unmarked")
            left = con.execute(f"select count(*) from main.{table} where {column} = {MARK}").fetchone()[0]
            assert left == 0, f"{table}: {left} marked rows found no value to restore"


def test_novelty_sums_re_sum_only_touched_days_and_equal_a_full_refresh(tmp_path, dbt_manifest):
    lab, world = novelty_lab(tmp_path, dbt_manifest), World(21)
    for _ in range(6):
        world.new_day()
    lab.build(world)
    mark_and_run_a_quiet_day(lab, world)
    before = lab.read("select * from main.int_novelty_exposure_day_sums")
    for case in ["late_events", "moved", "multi_variant", "second_variant_later", "resend_exposures", "resend_day"]:
        world.new_day()
        if case == "moved":
            exposure_moves_earlier(world, world.days[2], world.days[1])
        else:
            getattr(world, case)()
        lab.build(world)
    lab.build(world, marts=True)
    incremental = novelty_tables(lab)
    days = incremental["int_novelty_exposure_day_sums"]
    assert len(days) > len(before) > 0 and days["exposure_date"].nunique() > 3
    lab.build(world, full_refresh=True)
    assert_same(incremental, novelty_tables(lab), "novelty: ")
