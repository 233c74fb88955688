"""The CUPED covariates' refresh scope (issue 16; macros/exptrack_covariate_scope.sql): a daily run re-sums the
covariates of the units whose pre-period rows can have changed — rows of the rebuilt partitions, the rows they
replaced, changed assignments — not of every unit active in a rebuilt partition. The case only that scope's
partition branch reaches: a late event of an already exposed unit, dated before its first exposure, arriving in a
new day's partition (its assignment does not change, no partition is re-sent). Its covariate moves by the event's
value, and the tables equal a full refresh. On DuckDB, dbt in-process (incremental_lab.Lab).
"""

from __future__ import annotations

import pandas as pd
from incremental_world import World
from test_incremental_more import assert_equal, lab, tables

LATE_VALUE = 50.0


def covariate(warehouse, experiment_id: str, metric_id: str, user_id: str) -> float:
    """The unit's covariate (0 without a row: no pre-period events)."""
    frame = warehouse.read_df(
        "select covariate from main.int_unit_metric_covariates "
        f"where experiment_id = '{experiment_id}' and metric_id = '{metric_id}' and user_id = '{user_id}'"
    )
    return float(frame["covariate"].iloc[0]) if len(frame) else 0.0


def test_a_late_pre_period_event_moves_its_units_covariate_and_equals_a_full_refresh(tmp_path, dbt_manifest):
    runs = lab(tmp_path, dbt_manifest)
    warehouse = runs.resource.backend()
    world = World(11)
    for _ in range(4):
        world.new_day()
    runs.build(world)

    # a unit exp_a analyses, first exposed on an earlier day: a purchase an hour before that exposure (inside the
    # 3-day CUPED lookback of revenue_per_user) arrives late, in a new day's partition
    exposed = warehouse.read_df(
        "select user_id, first_exposed_at from main.int_assignments where experiment_id = 'exp_a' "
        "order by first_exposed_at, user_id limit 1"
    )
    user, first_exposed_at = exposed["user_id"].iloc[0], pd.Timestamp(exposed["first_exposed_at"].iloc[0])
    before = covariate(warehouse, "exp_a", "revenue_per_user", user)
    day = world.new_day()
    assert first_exposed_at.date() < day
    late = {
        "event_id": "e-late-pre-period",
        "user_id": user,
        "anonymous_id": None,
        "event_name": "purchase",
        "occurred_at": first_exposed_at.to_pydatetime() - pd.Timedelta(hours=1),
        "value": LATE_VALUE,
    }
    world.events[day] = pd.concat([world.events[day], pd.DataFrame([late])], ignore_index=True)
    runs.build(world)
    assert covariate(warehouse, "exp_a", "revenue_per_user", user) == before + LATE_VALUE

    incremental = tables(warehouse)
    runs.build(world, full_refresh=True)
    assert_equal(incremental, tables(warehouse))
