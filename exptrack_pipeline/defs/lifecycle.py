"""Lifecycle, reports and portfolio summaries (issue: lifecycle and reports). Dagster wiring only: the logic is in
`exptrack_pipeline.lifecycle` (pure) and the rendering in `exptrack_pipeline.reports` (pure).

Assets (group `lifecycle`, all in pool `duckdb`): experiment_lifecycle (effective status, ICE, decisions) with the
check no_scheduling_conflicts; experiment_backlog; experiment_reports (HTML/Markdown/PNG per experiment);
implementation_handoffs; experiment_archive (write-once, check archive_intact); portfolio_metrics;
weekly_status_report and monthly_impact_report, also on their own weekly/monthly schedules.
"""


import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd

from exptrack_pipeline.config import Experiment, Registry
from exptrack_pipeline.config.registry import load_experiment
from exptrack_pipeline.config.settings import Settings
from exptrack_pipeline.defs.resources import RegistryResource, WarehouseResource
from exptrack_pipeline.lifecycle import archive, inputs, portfolio, store
from exptrack_pipeline.lifecycle.handoff import handoff_markdown
from exptrack_pipeline.reports import OutputPaths, summaries
from exptrack_pipeline.reports.document import Document, data_uri_markdown
from exptrack_pipeline.reports.experiment import ReportInputs, render

GROUP = "lifecycle"
PORTFOLIO_CHANNEL_VAR = "EXPTRACK_PORTFOLIO_CHANNEL"  # Slack channel of the weekly/monthly summaries
LIFECYCLE_TEXT_COLUMNS = ["pm", "layer", "decision", "variant", "decided_by", "rationale", "status_source"]


def _lifecycle_frame(registry: Registry, con) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(one row per experiment with effective status, ICE and latest decision; every lifecycle event)."""
    store.ensure_tables(con)
    events = store.all_events(con)
    statuses = store.effective_statuses({e.id: e.status for e in registry.experiments}, events)
    frame = portfolio.experiment_frame(list(registry.experiments), statuses).merge(store.latest_decisions(events), on="experiment_id", how="left")
    for column in LIFECYCLE_TEXT_COLUMNS:
        frame[column] = frame[column].astype("string")
    for column in ("status_since", "decided_at"):
        frame[column] = pd.to_datetime(frame[column])
    return frame, events


def _md(frame: pd.DataFrame) -> dg.MetadataValue:
    return dg.MetadataValue.md(frame.to_markdown(index=False) if not frame.empty else "_none_")


def build(settings: Settings) -> dg.Definitions:
    """Definitions merged into the project's one Definitions object; must not redefine core resources."""
    out = OutputPaths(Path(settings.output_dir))

    # experiment_alerts (monitoring) writes automatic pauses into state.experiment_status_events; experiment_health
    # writes monitoring.health_findings. Depending on them orders the run; a missing key is only a stub upstream.
    @dg.asset(key="experiment_lifecycle", deps=["experiment_registry", "experiment_alerts"], pool="duckdb", group_name=GROUP, kinds={"python", "duckdb"},
              description="One row per experiment: effective lifecycle status (latest event in state.lifecycle_events / "
              "state.experiment_status_events, else the YAML), ICE score, latest decision. Creates state.lifecycle_events.")
    def experiment_lifecycle(context: dg.AssetExecutionContext, warehouse: WarehouseResource, registry: RegistryResource) -> dg.MaterializeResult:
        with warehouse.connect() as con:
            frame, events = _lifecycle_frame(registry.load(), con)
        warehouse.replace_table("main", "experiment_lifecycle", frame)
        shown = frame[["experiment_id", "status", "status_source", "ice_score", "decision", "variant"]]
        return dg.MaterializeResult(metadata={"dagster/row_count": len(frame), "events": len(events), "statuses": _md(shown)})

    @dg.asset_check(asset="experiment_lifecycle", name="no_scheduling_conflicts", pool="duckdb",
                    description="Active experiments overlapping in time on one surface and audience, unless they share a non-null layer.")
    def no_scheduling_conflicts(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        frame = warehouse.read_df("select * from main.experiment_lifecycle")
        conflicts = portfolio.find_conflicts(frame)
        text = portfolio.describe_conflicts(conflicts)
        return dg.AssetCheckResult(passed=conflicts.empty, description=text or "no scheduling conflicts",
                                   metadata={"conflicts": _md(conflicts), "count": len(conflicts)})

    @dg.asset(key="experiment_backlog", deps=["experiment_lifecycle"], pool="duckdb", group_name=GROUP, kinds={"python", "duckdb"},
              description="Experiments in backlog or scheduled, ordered by ICE score = expected_impact × confidence / effort.")
    def experiment_backlog(warehouse: WarehouseResource) -> dg.MaterializeResult:
        ordered = portfolio.backlog(warehouse.read_df("select * from main.experiment_lifecycle"))
        for column in ("expected_impact", "confidence", "effort", "ice_score"):
            ordered[column] = ordered[column].astype("float64")
        warehouse.replace_table("main", "experiment_backlog", ordered)
        return dg.MaterializeResult(metadata={"dagster/row_count": len(ordered), "backlog": _md(ordered)})

    @dg.asset(key="experiment_reports", pool="duckdb", group_name=GROUP, kinds={"python", "html"},
              deps=["experiment_results", "retention_results", "segment_results", "fct_retention_cohorts", "fct_daily_exposures",
                    "lifecycle_novelty_stats", "lifecycle_interaction_stats", "experiment_lifecycle", "experiment_health", "feature_flags"],
              description=f"Decision report per experiment: {out.reports}/<id>.html and <id>.md with PNGs beside it.")
    def experiment_reports(context: dg.AssetExecutionContext, warehouse: WarehouseResource, registry: RegistryResource) -> dg.MaterializeResult:
        reg = registry.load()
        out.reports.mkdir(parents=True, exist_ok=True)
        metadata: dict[str, object] = {}
        with warehouse.connect(read_only=True) as con:
            lifecycle = inputs.optional_table(con, "main.experiment_lifecycle").set_index("experiment_id")
            traffic = inputs.daily_units(con)
            for e in reg.experiments:
                rendered = render(_report_inputs(con, e, lifecycle, traffic))
                (out.reports / f"{e.id}.html").write_text(rendered.html)
                (out.reports / f"{e.id}.md").write_text(rendered.markdown)
                for name, png in rendered.images.items():
                    (out.reports / name).write_bytes(png)
                forest = rendered.images.get(f"{e.id}_forest.png")
                metadata[e.id] = dg.MetadataValue.md(rendered.key_table + ("\n\n" + data_uri_markdown(forest, "forest plot") if forest else ""))
                metadata[f"{e.id}_report"] = dg.MetadataValue.path(str(out.reports / f"{e.id}.html"))
                context.log.info(f"{e.id}: {rendered.recommendation.headline}")
        return dg.MaterializeResult(metadata={"reports": len(reg.experiments), "folder": dg.MetadataValue.path(str(out.reports)), **metadata})

    @dg.asset(key="implementation_handoffs", deps=["experiment_lifecycle", "experiment_results"], pool="duckdb", group_name=GROUP,
              kinds={"python", "markdown"}, description=f"Markdown handoff for every `ship` decision: {out.handoffs}/<id>.md.")
    def implementation_handoffs(warehouse: WarehouseResource, registry: RegistryResource) -> dg.MaterializeResult:
        reg = registry.load()
        written = []
        with warehouse.connect(read_only=True) as con:
            decisions = store.latest_decisions(store.all_events(con))
            for d in decisions[decisions["decision"] == "ship"].to_dict("records"):
                results = inputs.optional_table(con, "main.experiment_results", "experiment_id = ?", [d["experiment_id"]])
                latest = summaries.latest_on_or_before(results, d["experiment_id"], pd.Timestamp(d["decided_at"]).date()) if not results.empty else results
                out.handoffs.mkdir(parents=True, exist_ok=True)
                path = out.handoffs / f"{d['experiment_id']}.md"
                path.write_text(handoff_markdown(reg.get(d["experiment_id"]), d, latest))
                written.append(str(path))
        return dg.MaterializeResult(metadata={"handoffs": dg.MetadataValue.md("\n".join(f"- {p}" for p in written) or "_none_")})

    @dg.asset(key="experiment_archive", deps=["experiment_reports", "implementation_handoffs", "experiment_lifecycle"], pool="duckdb",
              group_name=GROUP, kinds={"python"},
              description=f"Write-once archive {out.archive}/<id>/ (config, final results, decision, report, handoff, SHA-256 manifest) "
              "for experiments concluded with a decision or archived. Never rewritten.")
    def experiment_archive(context: dg.AssetExecutionContext, warehouse: WarehouseResource, registry: RegistryResource) -> dg.MaterializeResult:
        reg = registry.load()
        frozen, kept = [], []
        with warehouse.connect(read_only=True) as con:
            lifecycle = inputs.optional_table(con, "main.experiment_lifecycle")
            events = store.all_events(con)
            for row in lifecycle.to_dict("records"):
                eligible = row["status"] == "archived" or (row["status"] == "concluded" and pd.notna(row["decision"]))
                if not eligible:
                    continue
                if archive.archive_dir(out.archive, row["experiment_id"]).exists():
                    kept.append(row["experiment_id"])
                    continue
                files = _archive_files(con, reg.get(row["experiment_id"]), row, events, settings.experiments_dir, out)
                path = archive.freeze(out.archive, row["experiment_id"], files)
                frozen.append(f"{row['experiment_id']} → {path}")
                context.log.info(f"archived {row['experiment_id']} under {path}")
        return dg.MaterializeResult(metadata={"newly_archived": dg.MetadataValue.md("\n".join(f"- {f}" for f in frozen) or "_none_"),
                                              "already_archived": dg.MetadataValue.text(", ".join(kept) or "none")})

    @dg.asset_check(asset="experiment_archive", name="archive_intact",
                    description="Every archived file still matches its SHA-256 in MANIFEST.sha256.")
    def archive_intact() -> dg.AssetCheckResult:
        folders = sorted(d for d in out.archive.iterdir() if d.is_dir() and not d.name.startswith(".")) if out.archive.is_dir() else []
        problems = [p for folder in folders for p in archive.verify(folder)]
        return dg.AssetCheckResult(passed=not problems, description="\n".join(problems) or f"{len(folders)} archive(s) intact",
                                   metadata={"archives": len(folders)})

    @dg.asset(key="portfolio_metrics", deps=["experiment_lifecycle"], pool="duckdb", group_name=GROUP, kinds={"python", "duckdb"},
              description="Experiments launched per quarter, time to decision (target ≤ 14 days), win rate, implementation rate.")
    def portfolio_metrics(warehouse: WarehouseResource) -> dg.MaterializeResult:
        metrics = _metrics(warehouse)
        table = pd.DataFrame({"metric": list(metrics), "value": [json.dumps(v) for v in metrics.values()]})
        warehouse.replace_table("main", "portfolio_metrics", table)
        doc = Document("Operational metrics")
        summaries.metrics_section(doc, metrics)
        out.summaries.mkdir(parents=True, exist_ok=True)
        (out.summaries / "portfolio_metrics.md").write_text(doc.markdown())
        return dg.MaterializeResult(metadata={"metrics": dg.MetadataValue.md(doc.markdown())})

    @dg.asset(key="weekly_status_report", deps=["experiment_lifecycle", "experiment_backlog", "experiment_results", "portfolio_metrics"],
              pool="duckdb", group_name=GROUP, kinds={"python", "markdown", "slack"},
              description=f"Weekly status of the active portfolio: {out.summaries}/weekly_status.md/.html, posted to Slack "
              f"({PORTFOLIO_CHANNEL_VAR}, default the leadership channel) when SLACK_BOT_TOKEN is set.")
    def weekly_status_report(context: dg.AssetExecutionContext, warehouse: WarehouseResource, registry: RegistryResource,
                             slack: dg.ResourceParam[Any]) -> dg.MaterializeResult:
        reg = registry.load()
        today = dt.datetime.now(dt.UTC).date()
        with warehouse.connect(read_only=True) as con:
            lifecycle = inputs.optional_table(con, "main.experiment_lifecycle")
            doc = summaries.weekly_status(
                today, list(reg.experiments), lifecycle, inputs.optional_table(con, "main.experiment_results"), store.all_events(con),
                portfolio.backlog(lifecycle), portfolio.find_conflicts(lifecycle), _metrics_from(con, lifecycle),
            )
        path = _write_summary(out, "weekly_status", today.isoformat(), doc)
        posted = _post(context, slack, summaries.slack_message(doc, "tbl-active", ["experiment", "status", "day", "primary lift", "recommendation"], str(path)))
        return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(path)), "slack": posted, "status": dg.MetadataValue.md(doc.markdown())})

    @dg.asset(key="monthly_impact_report", deps=["experiment_lifecycle", "experiment_results", "portfolio_metrics"], pool="duckdb",
              group_name=GROUP, kinds={"python", "markdown", "slack"},
              description=f"Cumulative impact of shipped experiments with a winner's-curse caution: {out.summaries}/monthly_impact.md/.html, "
              "posted to Slack like the weekly status.")
    def monthly_impact_report(context: dg.AssetExecutionContext, warehouse: WarehouseResource, slack: dg.ResourceParam[Any]) -> dg.MaterializeResult:
        today = dt.datetime.now(dt.UTC).date()
        with warehouse.connect(read_only=True) as con:
            lifecycle = inputs.optional_table(con, "main.experiment_lifecycle")
            outcomes = portfolio.launch_and_decision(lifecycle, store.all_events(con))
            effects = summaries.shipped_effects(outcomes, inputs.optional_table(con, "main.experiment_results"), inputs.daily_units(con))
            doc = summaries.monthly_impact(today, effects, portfolio.operational_metrics(outcomes))
        path = _write_summary(out, "monthly_impact", today.strftime("%Y-%m"), doc)
        columns = ["metric", "shipped", "combined lift Π(1+lift)−1", "conservative (lower bounds)"]
        posted = _post(context, slack, summaries.slack_message(doc, "tbl-cumulative-combined", columns, str(path)))
        return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(path)), "slack": posted, "impact": dg.MetadataValue.md(doc.markdown())})

    refresh = ["experiment_lifecycle", "experiment_backlog", "portfolio_metrics"]
    weekly_job = dg.define_asset_job("weekly_status_job", selection=refresh + ["weekly_status_report"],
                                     description="Refresh the lifecycle tables and write the weekly status summary.")
    monthly_job = dg.define_asset_job("monthly_impact_job", selection=refresh + ["monthly_impact_report"],
                                      description="Refresh the lifecycle tables and write the monthly cumulative-impact report.")
    return dg.Definitions(
        assets=[experiment_lifecycle, experiment_backlog, experiment_reports, implementation_handoffs, experiment_archive,
                portfolio_metrics, weekly_status_report, monthly_impact_report],
        asset_checks=[no_scheduling_conflicts, archive_intact],
        jobs=[weekly_job, monthly_job],
        schedules=[
            dg.ScheduleDefinition(name="weekly_status_schedule", job=weekly_job, cron_schedule="0 8 * * 1",
                                  description="Mondays 08:00 UTC: weekly status summary.", default_status=dg.DefaultScheduleStatus.RUNNING),
            dg.ScheduleDefinition(name="monthly_impact_schedule", job=monthly_job, cron_schedule="0 8 1 * *",
                                  description="1st of the month 08:00 UTC: monthly cumulative-impact report.",
                                  default_status=dg.DefaultScheduleStatus.RUNNING),
        ],
    )


def _report_inputs(con, e: Experiment, lifecycle: pd.DataFrame, traffic: dict[str, float]) -> ReportInputs:
    where, params = "experiment_id = ?", [e.id]
    row = lifecycle.loc[e.id] if e.id in lifecycle.index else None
    decision = None
    if row is not None and pd.notna(row.get("decision")):
        decision = {"decision": row["decision"], "variant": row["variant"] if pd.notna(row["variant"]) else None,
                    "decided_by": row["decided_by"], "rationale": row["rationale"], "decided_at": row["decided_at"]}
    return ReportInputs(
        experiment=e,
        status=str(row["status"]) if row is not None else e.status,
        results=inputs.optional_table(con, "main.experiment_results", where, params),
        decision=decision,
        retention=inputs.optional_table(con, "main.retention_results", where, params),
        cohorts=inputs.optional_table(con, "main.fct_retention_cohorts", where, params),
        segments=inputs.optional_table(con, "main.segment_results", where, params),
        novelty=inputs.optional_table(con, "main.lifecycle_novelty_stats", where, params),
        interaction=inputs.optional_table(con, "main.lifecycle_interaction_stats", where, params),
        health=inputs.health_rows(con, e.id),
        flag_changes=inputs.optional_table(con, "state.flag_changes", where + " order by changed_at, change_seq", params),
        daily_units=traffic.get(e.id),
    )


def _config_bytes(experiments_dir: Path, experiment_id: str) -> tuple[str, bytes]:
    """The experiment's YAML file exactly as the user wrote it."""
    for path in sorted(experiments_dir.glob("*.y*ml")):
        try:
            if load_experiment(path).id == experiment_id:
                return path.name, path.read_bytes()
        except Exception:  # noqa: BLE001 - the catalog and broken files are not experiments
            continue
    raise FileNotFoundError(f"{experiment_id}: no YAML in {experiments_dir} has this id; restore it before archiving")


def _archive_files(con, e: Experiment, row: dict, events: pd.DataFrame, experiments_dir: Path, out: OutputPaths) -> dict[str, bytes]:
    """Config, final results (latest analysis date), history, decision, report (+ PNGs) and handoff of one experiment."""
    name, config = _config_bytes(experiments_dir, e.id)
    results = inputs.optional_table(con, "main.experiment_results", "experiment_id = ?", [e.id])
    final = results[results["analysis_date"] == results["analysis_date"].max()] if not results.empty else results
    mine = events[events["experiment_id"] == e.id] if not events.empty else events
    decision = {k: (None if pd.isna(row.get(k)) else str(row.get(k))) for k in ("decision", "variant", "decided_by", "rationale", "decided_at")}
    files = {
        f"config_{name}": config,
        "results_final.csv": final.to_csv(index=False).encode(),
        "results_history.csv": results.to_csv(index=False).encode(),
        "lifecycle_events.csv": mine.to_csv(index=False).encode(),
        "decision.json": json.dumps({"experiment_id": e.id, "status": row["status"], **decision}, indent=2, sort_keys=True).encode(),
    }
    for path in [out.reports / f"{e.id}.html", out.reports / f"{e.id}.md", *sorted(out.reports.glob(f"{e.id}_*.png")), out.handoffs / f"{e.id}.md"]:
        if path.is_file():
            files[("handoff.md" if path.parent == out.handoffs else path.name)] = path.read_bytes()
    return files


def _metrics_from(con, lifecycle: pd.DataFrame) -> dict[str, object]:
    return portfolio.operational_metrics(portfolio.launch_and_decision(lifecycle, store.all_events(con)))


def _metrics(warehouse: WarehouseResource) -> dict[str, object]:
    with warehouse.connect(read_only=True) as con:
        return _metrics_from(con, inputs.optional_table(con, "main.experiment_lifecycle"))


def _post(context: dg.AssetExecutionContext, slack: Any, message: tuple[str, list[dict]]) -> str:
    """Post through the monitoring feature's `slack` resource (its `sender()` is None without a token: files only).
    A delivery failure is logged and reported in the metadata; it never fails the asset (the files are written)."""
    sender = slack.sender() if hasattr(slack, "sender") else None
    if sender is None:
        return "not posted: no SLACK_BOT_TOKEN (files only)"
    channel = os.environ.get(PORTFOLIO_CHANNEL_VAR) or getattr(slack, "leadership_channel", "#experiments")
    text, blocks = message
    try:
        sender.post(channel, text, blocks)
    except Exception as exc:  # noqa: BLE001 - DeliveryError and anything else from the sender
        context.log.warning(f"Slack post to {channel} failed: {exc}")
        return f"failed to post to {channel}: {exc}"
    return f"posted to {channel}"


def _write_summary(out: OutputPaths, name: str, stamp: str, doc) -> Path:
    """<name>.md/.html (latest) plus a dated Markdown copy <name>_<stamp>.md."""
    out.summaries.mkdir(parents=True, exist_ok=True)
    markdown = doc.markdown()
    (out.summaries / f"{name}.md").write_text(markdown)
    (out.summaries / f"{name}.html").write_text(doc.html())
    (out.summaries / f"{name}_{stamp}.md").write_text(markdown)
    return out.summaries / f"{name}.md"
