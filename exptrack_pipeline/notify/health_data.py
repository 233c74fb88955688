"""The health rules' inputs read from the warehouse, through short-lived connections.

DuckDB takes one writer process at a time: every function here opens a connection, does its work and closes
it. `Connect` is any zero-argument callable returning a connection context manager — the Dagster
`WarehouseResource.connect`, a `Warehouse.connect` (exptrack_pipeline.warehouse) or :func:`connector` for a DuckDB file.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from exptrack_pipeline.monitoring.inputs import FRAME_COLUMNS, HealthInputs
from exptrack_pipeline.notify.state import monitored_statuses
from exptrack_pipeline.warehouse import Connect, DuckDBWarehouse, table_exists
from exptrack_pipeline.warehouse.schema import ensure_tables

__all__ = ["Connect", "connector", "load_inputs"]


def connector(path: str | Path, attempts: int = 5, wait_seconds: float = 0.5) -> Connect:
    """A `Connect` for a DuckDB warehouse file that retries briefly while another process holds the lock."""
    return DuckDBWarehouse(str(path), lock_attempts=attempts, lock_wait_seconds=wait_seconds).connect


def _df(con, schema: str, table: str, sql: str, empty_columns: list[str]) -> pd.DataFrame:
    if not table_exists(con, f"{schema}.{table}"):
        return pd.DataFrame({c: pd.Series(dtype="object") for c in empty_columns})
    return con.execute(sql).df()


MONITORED = ("running", "paused")


def load_inputs(connect: Connect, today: dt.date | None = None) -> HealthInputs:
    """Read every input of the health rules: experiments whose registry status is running or paused, and concluded
    experiments whose ship ramp is in progress (effective status `ship_ramp`, notify.state.monitored_statuses)."""
    with connect() as con:
        ensure_tables(con)
        status = monitored_statuses(con)
        ramping = sorted(e for e, s in status.items() if s == "ship_ramp")
        experiments = con.execute(
            """
            select e.experiment_id, e.status as registry_status, e.start_date, e.end_date, e.control_variant,
                   e.primary_metric_id, e.alpha, e.target_power, e.minimum_detectable_effect, e.mde_type,
                   (select max(d.exposure_date) from main.fct_daily_exposures d where d.experiment_id =
                       e.experiment_id) as as_of
            from registry.experiments e
            order by e.experiment_id
            """
        ).df()
        experiments = experiments[
            experiments["registry_status"].isin(MONITORED) | experiments["experiment_id"].isin(ramping)
        ].reset_index(drop=True)
        experiments["effective_status"] = (
            experiments["experiment_id"].map(status).fillna(experiments["registry_status"])
        )
        frames = {
            "variants": con.execute(
                "select experiment_id, variant, weight, is_control from registry.experiment_variants"
            ).df(),
            "daily_exposures": con.execute("select * from main.fct_daily_exposures").df(),
            "segment_exposures": _df(
                con,
                "main",
                "fct_segment_exposures",
                "select * from main.fct_segment_exposures",
                FRAME_COLUMNS["segment_exposures"],
            ),
            "exposure_quality": con.execute("select * from main.dim_experiment_exposure_quality").df(),
            "activity": _df(
                con,
                "main",
                "mon_experiment_daily_activity",
                "select * from main.mon_experiment_daily_activity",
                FRAME_COLUMNS["activity"],
            ),
            "metric_daily": _df(
                con,
                "main",
                "mon_variant_metric_daily",
                "select * from main.mon_variant_metric_daily",
                FRAME_COLUMNS["metric_daily"],
            ),
            "results": con.execute(f"select {', '.join(FRAME_COLUMNS['results'])} from main.experiment_results").df(),
            "stats": con.execute(
                """
                select s.* from main.fct_variant_metric_stats s
                inner join (select experiment_id, max(exposure_date) as as_of from main.fct_daily_exposures group by
                    experiment_id) a
                    on s.experiment_id = a.experiment_id and s.analysis_date = a.as_of
                """
            ).df(),
            "metrics": con.execute(
                """
                select em.*, m.stat_kind, m.metric_kind, m.direction, m.window_days, m.retention_day
                from registry.experiment_metrics em inner join registry.metrics m on em.metric_id = m.metric_id
                """
            ).df(),
            "unmatched": _df(
                con,
                "main",
                "fct_unmatched_exposures",
                "select * from main.fct_unmatched_exposures",
                FRAME_COLUMNS["unmatched"],
            ),
            "novelty": _df(
                con,
                "main",
                "lifecycle_novelty_stats",
                "select * from main.lifecycle_novelty_stats",
                FRAME_COLUMNS["novelty"],
            ),
            "interaction": _df(
                con,
                "main",
                "lifecycle_interaction_stats",
                "select * from main.lifecycle_interaction_stats",
                FRAME_COLUMNS["interaction"],
            ),
            "quantiles": _df(
                con,
                "main",
                "fct_variant_metric_quantiles",
                """
                select q.* from main.fct_variant_metric_quantiles q
                inner join (select experiment_id, max(exposure_date) as as_of from main.fct_daily_exposures group by
                    experiment_id) a
                    on q.experiment_id = a.experiment_id and q.analysis_date = a.as_of
                """,
                FRAME_COLUMNS["quantiles"],
            ),
        }
        through = con.execute("select max(partition_date) from main.stg_events").fetchone()[0]
    return HealthInputs(experiments=experiments, data_through=through, today=today, **frames)
