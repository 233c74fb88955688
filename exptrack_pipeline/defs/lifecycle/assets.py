"""Lifecycle, reports and portfolio summaries. Dagster wiring only: the logic is in `exptrack_pipeline.lifecycle`
(pure) and the rendering in `exptrack_pipeline.reports` (pure); file helpers in outputs.py, checks in checks.py.

Assets (group `lifecycle`, all in pool `duckdb`): experiment_lifecycle (effective status, ICE, decisions);
experiment_backlog; experiment_reports (HTML/Markdown/PNG per experiment); implementation_handoffs;
experiment_archive (write-once); portfolio_metrics; weekly_status_report and monthly_impact_report (also on their
own weekly/monthly schedules). Files go under the `output_paths` resource (EXPTRACK_OUTPUT_DIR).
"""

import datetime as dt
import json
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd

from exptrack_pipeline.config import Registry
from exptrack_pipeline.defs.lifecycle.outputs import (
    PORTFOLIO_CHANNEL_VAR,
    archive_files,
    markdown_table,
    metrics_from,
    portfolio_numbers,
    post_summary,
    report_inputs,
    write_summary,
)
from exptrack_pipeline.defs.resources import OutputPathsResource, RegistryResource, WarehouseResource
from exptrack_pipeline.lifecycle import archive, inputs, portfolio, store
from exptrack_pipeline.lifecycle.handoff import handoff_markdown
from exptrack_pipeline.reports import summaries
from exptrack_pipeline.reports.document import Document, data_uri_markdown
from exptrack_pipeline.reports.publish import Published, publish
from exptrack_pipeline.site import data as site_data
from exptrack_pipeline.site.build import learnings_synthesis
from exptrack_pipeline.warehouse.targets import writer_pool

GROUP = "lifecycle"
LIFECYCLE_TEXT_COLUMNS = ["pm", "layer", "decision", "variant", "decided_by", "rationale", "status_source"]


def _lifecycle_frame(registry: Registry, con) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(one row per experiment with effective status, ICE and latest decision; every lifecycle event)."""
    store.ensure_tables(con)
    events = store.all_events(con)
    statuses = store.effective_statuses({e.id: e.status for e in registry.experiments}, events)
    frame = portfolio.experiment_frame(list(registry.experiments), statuses).merge(
        store.latest_decisions(events), on="experiment_id", how="left"
    )
    for column in LIFECYCLE_TEXT_COLUMNS:
        frame[column] = frame[column].astype("string")
    for column in ("status_since", "decided_at"):
        frame[column] = pd.to_datetime(frame[column])
    return frame, events


# experiment_alerts (monitoring) writes automatic pauses into state.experiment_status_events; experiment_health
# writes monitoring.health_findings. Depending on them orders the run; a missing key is only a stub upstream.
@dg.asset(
    key="experiment_lifecycle",
    deps=["experiment_registry", "experiment_alerts"],
    pool=writer_pool(),
    group_name=GROUP,
    kinds={"python", "duckdb"},
    description="One row per experiment: effective lifecycle status (latest event in state.lifecycle_events / "
    "state.experiment_status_events, else the YAML), ICE score, latest decision. Creates state.lifecycle_events.",
)
def experiment_lifecycle(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, registry: RegistryResource
) -> dg.MaterializeResult:
    """Write main.experiment_lifecycle: each experiment's effective status, ICE score and decision."""
    with warehouse.connect() as con:
        frame, events = _lifecycle_frame(registry.load(), con)
    warehouse.replace_table("main", "experiment_lifecycle", frame)
    shown = frame[["experiment_id", "status", "status_source", "ice_score", "decision", "variant"]]
    return dg.MaterializeResult(
        metadata={"dagster/row_count": len(frame), "events": len(events), "statuses": markdown_table(shown)}
    )


@dg.asset(
    key="experiment_backlog",
    deps=["experiment_lifecycle"],
    pool=writer_pool(),
    group_name=GROUP,
    kinds={"python", "duckdb"},
    description="Experiments in backlog or scheduled, ordered by ICE score = expected_impact × confidence / effort.",
)
def experiment_backlog(warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Write main.experiment_backlog: backlog experiments ordered by ICE score."""
    ordered = portfolio.backlog(warehouse.read_df("select * from main.experiment_lifecycle"))
    for column in ("expected_impact", "confidence", "effort", "ice_score"):
        ordered[column] = ordered[column].astype("float64")
    warehouse.replace_table("main", "experiment_backlog", ordered)
    return dg.MaterializeResult(metadata={"dagster/row_count": len(ordered), "backlog": markdown_table(ordered)})


@dg.asset(
    key="experiment_reports",
    pool=writer_pool(),
    group_name=GROUP,
    kinds={"python", "html"},
    deps=[
        "experiment_results",
        "retention_results",
        "segment_results",
        "fct_retention_cohorts",
        "fct_daily_exposures",
        "lifecycle_novelty_stats",
        "lifecycle_interaction_stats",
        "experiment_lifecycle",
        "experiment_health",
        "feature_flags",
    ],
    description="Decision report per experiment: <output dir>/reports/<id>.html and <id>.md with PNGs beside it.",
)
def experiment_reports(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    registry: RegistryResource,
    output_paths: OutputPathsResource,
) -> dg.MaterializeResult:
    """Render every experiment's report (Markdown and HTML) into the reports folder; an experiment whose inputs and
    rendering code did not change since its last render keeps its files (reports/publish.py)."""
    out = output_paths.paths()
    reg = registry.load()
    metadata: dict[str, object] = {}
    done: list[Published] = []
    with warehouse.connect(read_only=True) as con:
        lifecycle = inputs.optional_table(con, "main.experiment_lifecycle").set_index("experiment_id")
        traffic = inputs.daily_units(con)
        for e in reg.experiments:
            report = publish(out.reports, report_inputs(con, e, lifecycle, traffic))
            done.append(report)
            forest = out.reports / f"{e.id}_forest.png"
            metadata[e.id] = dg.MetadataValue.md(
                report.key_table
                + (
                    "\n\n" + data_uri_markdown(forest.read_bytes(), "forest plot")
                    if forest.name in report.files
                    else ""
                )
            )
            metadata[f"{e.id}_report"] = dg.MetadataValue.path(str(out.reports / f"{e.id}.html"))
            context.log.info(f"{e.id} ({'rendered' if report.rendered else 'kept'}): {report.headline}")
    rendered = [r.experiment_id for r in done if r.rendered]
    return dg.MaterializeResult(
        metadata={
            "reports": len(reg.experiments),
            "rendered": len(rendered),
            "kept": len(done) - len(rendered),
            "rendered_experiments": ", ".join(rendered) or "none (inputs and code unchanged)",
            "folder": dg.MetadataValue.path(str(out.reports)),
            **metadata,
        }
    )


@dg.asset(
    key="implementation_handoffs",
    deps=["experiment_lifecycle", "experiment_results"],
    pool=writer_pool(),
    group_name=GROUP,
    kinds={"python", "markdown"},
    description="Markdown handoff for every `ship` decision: <output dir>/handoffs/<id>.md.",
)
def implementation_handoffs(
    warehouse: WarehouseResource, registry: RegistryResource, output_paths: OutputPathsResource
) -> dg.MaterializeResult:
    """Write an implementation handoff for every ship decision."""
    out = output_paths.paths()
    reg = registry.load()
    written = []
    with warehouse.connect(read_only=True) as con:
        decisions = store.latest_decisions(store.all_events(con))
        for d in decisions[decisions["decision"] == "ship"].to_dict("records"):
            results = inputs.optional_table(con, "main.experiment_results", "experiment_id = ?", [d["experiment_id"]])
            latest = (
                summaries.latest_on_or_before(results, d["experiment_id"], pd.Timestamp(d["decided_at"]).date())
                if not results.empty
                else results
            )
            out.handoffs.mkdir(parents=True, exist_ok=True)
            path = out.handoffs / f"{d['experiment_id']}.md"
            path.write_text(handoff_markdown(reg.get(d["experiment_id"]), d, latest))
            written.append(str(path))
    return dg.MaterializeResult(
        metadata={"handoffs": dg.MetadataValue.md("\n".join(f"- {p}" for p in written) or "_none_")}
    )


@dg.asset(
    key="experiment_archive",
    deps=["experiment_reports", "implementation_handoffs", "experiment_lifecycle"],
    pool=writer_pool(),
    group_name=GROUP,
    kinds={"python"},
    description="Write-once archive <output dir>/archive/<id>/ (config, final results, decision, report, handoff, "
    "SHA-256 "
    "manifest) "
    "for experiments concluded with a decision or archived. Never rewritten.",
)
def experiment_archive(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    registry: RegistryResource,
    output_paths: OutputPathsResource,
) -> dg.MaterializeResult:
    """Freeze the archive folder of every concluded or archived experiment (written once)."""
    out = output_paths.paths()
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
            files = archive_files(con, reg.get(row["experiment_id"]), row, events, Path(registry.experiments_dir), out)
            path = archive.freeze(out.archive, row["experiment_id"], files)
            frozen.append(f"{row['experiment_id']} → {path}")
            context.log.info(f"archived {row['experiment_id']} under {path}")
    return dg.MaterializeResult(
        metadata={
            "newly_archived": dg.MetadataValue.md("\n".join(f"- {f}" for f in frozen) or "_none_"),
            "already_archived": dg.MetadataValue.text(", ".join(kept) or "none"),
        }
    )


@dg.asset(
    key="portfolio_metrics",
    deps=["experiment_lifecycle"],
    pool=writer_pool(),
    group_name=GROUP,
    kinds={"python", "duckdb"},
    description="Experiments launched per quarter, time to decision (target ≤ 14 days), win rate, implementation rate.",
)
def portfolio_metrics(warehouse: WarehouseResource, output_paths: OutputPathsResource) -> dg.MaterializeResult:
    """Write main.portfolio_metrics and the operational metrics page."""
    out = output_paths.paths()
    metrics = portfolio_numbers(warehouse)
    table = pd.DataFrame({"metric": list(metrics), "value": [json.dumps(v) for v in metrics.values()]})
    warehouse.replace_table("main", "portfolio_metrics", table)
    doc = Document("Operational metrics")
    summaries.metrics_section(doc, metrics)
    out.summaries.mkdir(parents=True, exist_ok=True)
    (out.summaries / "portfolio_metrics.md").write_text(doc.markdown())
    return dg.MaterializeResult(metadata={"metrics": dg.MetadataValue.md(doc.markdown())})


@dg.asset(
    key="weekly_status_report",
    deps=["experiment_lifecycle", "experiment_backlog", "experiment_results", "portfolio_metrics"],
    pool=writer_pool(),
    group_name=GROUP,
    kinds={"python", "markdown", "slack"},
    description="Weekly status of the active portfolio: <output dir>/summaries/weekly_status.md/.html, posted to "
    "Slack "
    f"({PORTFOLIO_CHANNEL_VAR}, default the leadership channel) when SLACK_BOT_TOKEN is set.",
)
def weekly_status_report(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    registry: RegistryResource,
    slack: dg.ResourceParam[Any],
    output_paths: OutputPathsResource,
) -> dg.MaterializeResult:
    """Write the weekly status of the active portfolio and post it to Slack."""
    out = output_paths.paths()
    reg = registry.load()
    today = dt.datetime.now(dt.UTC).date()
    with warehouse.connect(read_only=True) as con:
        lifecycle = inputs.optional_table(con, "main.experiment_lifecycle")
        doc = summaries.weekly_status(
            today,
            list(reg.experiments),
            lifecycle,
            inputs.optional_table(con, "main.experiment_results"),
            store.all_events(con),
            portfolio.backlog(lifecycle),
            portfolio.find_conflicts(lifecycle),
            metrics_from(con, lifecycle),
            health=lambda experiment_id: inputs.health_rows(con, experiment_id),
        )
    path = write_summary(out, "weekly_status", today.isoformat(), doc)
    posted = post_summary(
        context,
        slack,
        summaries.slack_message(
            doc, "tbl-active", ["experiment", "status", "day", "primary lift", "recommendation"], str(path)
        ),
    )
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(path)),
            "slack": posted,
            "status": dg.MetadataValue.md(doc.markdown()),
        }
    )


@dg.asset(
    key="monthly_impact_report",
    deps=["experiment_lifecycle", "experiment_results", "portfolio_metrics"],
    pool=writer_pool(),
    group_name=GROUP,
    kinds={"python", "markdown", "slack"},
    description="Cumulative impact of shipped experiments with a winner's-curse caution: <output "
    "dir>/summaries/monthly_impact.md/.html, "
    "posted to Slack like the weekly status.",
)
def monthly_impact_report(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    registry: RegistryResource,
    slack: dg.ResourceParam[Any],
    output_paths: OutputPathsResource,
) -> dg.MaterializeResult:
    """Write the monthly impact of shipped experiments and post it to Slack."""
    out = output_paths.paths()
    today = dt.datetime.now(dt.UTC).date()
    with warehouse.connect(read_only=True) as con:
        lifecycle = inputs.optional_table(con, "main.experiment_lifecycle")
        outcomes = portfolio.launch_and_decision(lifecycle, store.all_events(con))
        effects = summaries.shipped_effects(
            outcomes, inputs.optional_table(con, "main.experiment_results"), inputs.daily_units(con)
        )
        synthesis = learnings_synthesis(site_data.load(con, registry.load(), today))
        doc = summaries.monthly_impact(today, effects, portfolio.operational_metrics(outcomes), synthesis)
    path = write_summary(out, "monthly_impact", today.strftime("%Y-%m"), doc)
    columns = ["metric", "shipped", "combined lift Π(1+lift)−1", "conservative (lower bounds)"]
    posted = post_summary(context, slack, summaries.slack_message(doc, "tbl-cumulative-combined", columns, str(path)))
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(path)),
            "slack": posted,
            "impact": dg.MetadataValue.md(doc.markdown()),
        }
    )
