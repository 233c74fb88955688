"""Plain-text tables of a warehouse for the terminal: `exptrack results` and `exptrack summary`
(commands/results.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from exptrack_pipeline.warehouse import DuckDBWarehouse

ROLE_ORDER = {"primary": 0, "secondary": 1, "guardrail": 2}

LATEST_RESULTS = """
    select * from main.experiment_results r
    where analysis_date = (select max(analysis_date) from main.experiment_results x where x.experiment_id =
        r.experiment_id)
"""


def _query(warehouse: Any, sql: str) -> pd.DataFrame:
    """Read from a Warehouse (exptrack_pipeline.warehouse), or a DuckDB file given by its path."""
    if isinstance(warehouse, (str, Path)):
        warehouse = DuckDBWarehouse(str(warehouse))
    return warehouse.read_df(sql)


def latest_results(warehouse: Any, experiment_id: str | None = None) -> pd.DataFrame:
    """Latest experiment_results rows (of one experiment, or all), ordered by role, metric and variant."""
    frame = _query(warehouse, LATEST_RESULTS)
    if experiment_id:
        frame = frame[frame["experiment_id"] == experiment_id]
    frame = frame.assign(_role=frame["metric_role"].map(ROLE_ORDER))
    return frame.sort_values(["experiment_id", "_role", "metric_id", "variant"]).drop(columns="_role")


def verdict(row) -> str:
    """The verdict of one result row: not significant, better or WORSE, with its reason."""
    if not row.is_significant:
        text = "not significant"
    else:
        good = (row.rel_lift > 0) == (row.direction == "increase")
        text = "better" if good else "WORSE"
    return f"{text} ({row.reason})" if row.reason else text


def format_results(frame: pd.DataFrame) -> str:
    """The results rows as a plain-text table per experiment."""
    if frame.empty:
        return "no results (run `exptrack run --start YYYY-MM-DD --end YYYY-MM-DD` first)"
    lines = []
    header = (
        f"  {'role':<9} {'metric':<22} {'variant':<13} {'n_ctrl':>7} {'n_var':>7} {'control':>9} {'variant':>9} "
        f"{'lift':>8} {'CI (adjusted)':>19} {'p_adj':>8}  verdict"
    )
    for experiment_id, rows in frame.groupby("experiment_id", sort=False):
        lines.append(
            f"\n{experiment_id}  (through {rows['analysis_date'].max():%Y-%m-%d}, control = "
            f"{rows['control_variant'].iloc[0]})"
        )
        lines.append(header)
        for r in rows.itertuples():
            ci = f"[{r.rel_lift_ci_low:+.1%}, {r.rel_lift_ci_high:+.1%}]" if pd.notna(r.rel_lift_ci_low) else "n/a"
            lift = f"{r.rel_lift:+.1%}" if pd.notna(r.rel_lift) else "n/a"
            p_adj = f"{r.p_value_adjusted:.2g}" if pd.notna(r.p_value_adjusted) else "n/a"
            lines.append(
                f"  {r.metric_role:<9} {r.metric_id:<22} {r.variant:<13} {r.n_control:>7} {r.n_variant:>7} "
                f"{r.mean_control:>9.4g} {r.mean_variant:>9.4g} {lift:>8} {ci:>19} {p_adj:>8}  {verdict(r)}"
            )
    return "\n".join(lines)


def format_ingestion(warehouse: Any) -> str:
    """Ingestion per source (days, files, rows loaded, quarantined, deduplicated) and quarantine reasons as text."""
    log = _query(
        warehouse,
        "select source, count(*)::bigint as days, sum(files_read)::bigint as files, sum(rows_read)::bigint as "
        "rows_read, sum(rows_loaded)::bigint as loaded, "
        "sum(rows_quarantined)::bigint as quarantined, sum(rows_deduplicated)::bigint as deduplicated from "
        "raw.ingestion_log group by source order by source",
    )
    reasons = _query(
        warehouse,
        "select source, regexp_replace(reason, ':.*', '') as reason, count(*) as rows from raw.quarantine "
        "group by 1, 2 order by 1, 2",
    )
    lines = ["Ingestion (rows read = loaded + quarantined + de-duplicated):"]
    for r in log.itertuples():
        ok = "ok" if r.rows_read == r.loaded + r.quarantined + r.deduplicated else "MISMATCH"
        lines.append(
            f"  {r.source:<10} {r.days:>3} days {r.files:>4} files  read {r.rows_read:>9,}  loaded {r.loaded:>9,}  "
            f"quarantined {r.quarantined:>4}  de-duplicated {r.deduplicated:>5}  [{ok}]"
        )
    for r in reasons.itertuples():
        lines.append(f"    quarantined {r.source}: {r.rows} x {r.reason}")
    return "\n".join(lines)


def _statuses(warehouse: Any) -> dict[str, str]:
    """Effective status per experiment (after automatic pauses and recorded moves), else the YAML status."""
    for sql in (
        "select experiment_id, status from main.experiment_lifecycle",
        "select experiment_id, effective_status as status from main.dim_experiment_status",
        "select experiment_id, status from registry.experiments",
    ):
        try:
            return dict(_query(warehouse, sql).itertuples(index=False, name=None))
        except Exception:  # not built yet: the next source
            continue
    return {}


def format_exposures(warehouse: Any) -> str:
    """Exposure quality per experiment: the split against the design and multi-variant units, as text."""
    quality = _query(warehouse, "select * from main.dim_experiment_exposure_quality order by experiment_id")
    units = _query(
        warehouse,
        "select experiment_id, variant, design_weight, max(cumulative_units)::bigint as units "
        "from main.fct_daily_exposures group by experiment_id, variant, design_weight order by experiment_id, variant",
    )
    statuses = _statuses(warehouse)
    lines = ["Exposure (analysed units per variant; units seen in two variants are excluded):"]
    for q in quality.itertuples():
        arms = units[units["experiment_id"] == q.experiment_id]
        split = ", ".join(f"{a.variant} {a.units:,} ({a.design_weight:.0%})" for a in arms.itertuples())
        status = statuses.get(q.experiment_id, "?")
        lines.append(
            f"  {q.experiment_id:<22} [{status}] {split}; multi-variant units {int(q.multi_exposed_units)} "
            f"({q.multi_exposure_rate:.2%})"
        )
    return "\n".join(lines)


def format_unmatched(warehouse: Any) -> str:
    """Exposure rows that match nothing in the registry (fct_unmatched_exposures): never silent."""
    try:
        rows = _query(
            warehouse,
            "select experiment_id, exclusion_reason, variant, sum(exposure_rows) as exposure_rows, "
            "min(exposure_date) as first_seen, "
            "max(exposure_date) as last_seen from main.fct_unmatched_exposures group by experiment_id, "
            "exclusion_reason, variant "
            "order by experiment_id, exclusion_reason, variant",
        )
    except Exception:  # an older warehouse without the mart
        return (
            "Exposures that match nothing in the registry: unknown (run `exptrack run` to build "
            "fct_unmatched_exposures)"
        )
    if rows.empty:
        return "Exposures that match nothing in the registry: none"
    lines = ["Exposures that match nothing in the registry (excluded from every analysis):"]
    for r in rows.itertuples():
        what = (
            f"unregistered experiment '{r.experiment_id}' (variant '{r.variant}')"
            if r.exclusion_reason == "unknown_experiment"
            else f"{r.experiment_id}: variant '{r.variant}' is not in its YAML"
        )
        rows = int(r.exposure_rows)
        lines.append(
            f"  {what}: {rows:,} row{'' if rows == 1 else 's'}, {pd.Timestamp(r.first_seen):%Y-%m-%d} .. "
            f"{pd.Timestamp(r.last_seen):%Y-%m-%d}"
        )
    return "\n".join(lines)


def format_summary(warehouse: Any) -> str:
    """The whole `exptrack summary`: ingestion, exposures, unmatched exposures and the latest results."""
    return "\n\n".join(
        [
            format_ingestion(warehouse),
            format_exposures(warehouse),
            format_unmatched(warehouse),
            "Results (latest analysis date):" + format_results(latest_results(warehouse)),
        ]
    )
