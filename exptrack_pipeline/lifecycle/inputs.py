"""Read what reports and summaries need from an open warehouse connection (no Dagster). Tables that another
feature has not built yet read as empty frames, so a report can say "no data" instead of failing."""

from __future__ import annotations

import pandas as pd

from exptrack_pipeline.warehouse.base import table_exists
from exptrack_pipeline.warehouse.schema import HEALTH_FINDINGS_TABLE as HEALTH_FINDINGS


def optional_table(con, qualified: str, where: str = "", params: list | None = None) -> pd.DataFrame:
    """`select * from qualified [where ...]`, or an empty frame when the table does not exist."""
    if not table_exists(con, qualified):
        return pd.DataFrame()
    return con.execute(f"select * from {qualified} {('where ' + where) if where else ''}", params or []).df()


def daily_units(con) -> dict[str, float]:
    """experiment_id → analysed units ÷ days with any new exposure (fct_daily_exposures), the traffic rate."""
    if not table_exists(con, "main.fct_daily_exposures"):
        return {}
    frame = con.execute(
        """
        select experiment_id, sum(new_units) / nullif(count(distinct case when new_units > 0 then exposure_date end),
            0) as per_day
        from (select experiment_id, exposure_date, sum(new_units) as new_units from main.fct_daily_exposures group by
            experiment_id, exposure_date) as daily
        group by experiment_id
        """
    ).df()
    return {r.experiment_id: float(r.per_day) for r in frame.itertuples() if pd.notna(r.per_day)}


def exposures_by_surface(con) -> pd.DataFrame:
    """fct_daily_exposures with each experiment's surface (for planning: traffic of the latest experiment on a
    surface)."""
    if not (table_exists(con, "main.fct_daily_exposures") and table_exists(con, "registry.experiments")):
        return pd.DataFrame(columns=["experiment_id", "surface", "exposure_date", "new_units"])
    return con.execute(
        """
        select d.experiment_id, e.surface, d.exposure_date, sum(d.new_units) as new_units
        from main.fct_daily_exposures d inner join registry.experiments e on d.experiment_id = e.experiment_id
        group by d.experiment_id, e.surface, d.exposure_date
        """
    ).df()


def health_rows(con, experiment_id: str) -> pd.DataFrame | None:
    """The experiment's health verdicts at their latest as-of date (monitoring.health_findings, warehouse/schema.py);
    None before the table exists."""
    if not table_exists(con, HEALTH_FINDINGS):
        return None
    return (
        con.execute(
            f"select as_of, check_name, status, level, summary from {HEALTH_FINDINGS} where experiment_id = ? "
            "and as_of = "
            f"(select max(as_of) from {HEALTH_FINDINGS} where experiment_id = ?) order by check_name",
            [experiment_id, experiment_id],
        )
        .df()
        .astype(str)
    )
