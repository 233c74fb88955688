"""Read what reports and summaries need from an open warehouse connection (no Dagster). Tables that another
feature has not built yet read as empty frames, so a report can say "no data" instead of failing."""

from __future__ import annotations

import pandas as pd

from exptrack_pipeline.lifecycle.store import columns_of, table_exists

HEALTH_NAME_HINTS = ("health", "alert", "outbox")


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
        select experiment_id, sum(new_units) / nullif(count(distinct case when new_units > 0 then exposure_date end), 0) as per_day
        from (select experiment_id, exposure_date, sum(new_units) as new_units from main.fct_daily_exposures group by experiment_id, exposure_date) as daily
        group by experiment_id
        """
    ).df()
    return {r.experiment_id: float(r.per_day) for r in frame.itertuples() if pd.notna(r.per_day)}


def exposures_by_surface(con) -> pd.DataFrame:
    """fct_daily_exposures with each experiment's surface (for planning: traffic of the latest experiment on a surface)."""
    if not (table_exists(con, "main.fct_daily_exposures") and table_exists(con, "registry.experiments")):
        return pd.DataFrame(columns=["experiment_id", "surface", "exposure_date", "new_units"])
    return con.execute(
        """
        select d.experiment_id, e.surface, d.exposure_date, sum(d.new_units) as new_units
        from main.fct_daily_exposures d inner join registry.experiments e on d.experiment_id = e.experiment_id
        group by d.experiment_id, e.surface, d.exposure_date
        """
    ).df()


def health_tables(con) -> list[str]:
    """Tables of the monitoring feature that look like per-experiment health: a name containing health/alert/outbox
    and an `experiment_id` column (schema-agnostic until their contract lands)."""
    rows = con.execute(
        "select table_schema || '.' || table_name from information_schema.tables "
        "where " + " or ".join(f"lower(table_name) like '%{h}%'" for h in HEALTH_NAME_HINTS)
    ).fetchall()
    return sorted(name for (name,) in rows if "experiment_id" in columns_of(con, name))


HEALTH_FINDINGS = "monitoring.health_findings"  # the monitoring feature's verdicts (exptrack_pipeline/notify/schema.py)


def health_rows(con, experiment_id: str, limit: int = 10) -> pd.DataFrame | None:
    """The experiment's health verdicts at their latest as-of date (monitoring.health_findings), else the latest `limit`
    rows of every health-like table; None when there is no health table at all."""
    if table_exists(con, HEALTH_FINDINGS):
        wanted = [c for c in ("as_of", "check_name", "status", "level", "summary") if c in columns_of(con, HEALTH_FINDINGS)]
        return con.execute(
            f"select {', '.join(wanted)} from {HEALTH_FINDINGS} where experiment_id = ? and as_of = "
            f"(select max(as_of) from {HEALTH_FINDINGS} where experiment_id = ?) order by check_name",
            [experiment_id, experiment_id],
        ).df().astype(str)
    tables = health_tables(con)
    if not tables:
        return None
    frames = []
    for name in tables:
        frame = con.execute(f"select * from {name} where experiment_id = ?", [experiment_id]).df()
        time_cols = [c for c in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[c])]
        if time_cols:
            frame = frame.sort_values(time_cols[0], ascending=False)
        frames.append(frame.head(limit).assign(source_table=name).astype(str))
    return pd.concat(frames, ignore_index=True) if frames else None
