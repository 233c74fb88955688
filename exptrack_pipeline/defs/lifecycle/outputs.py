"""What the lifecycle assets read and write besides warehouse tables: report inputs, archive contents, summary files
and their Slack post. Plain functions over an open connection and the output folders (no asset definitions here)."""

import json
import os
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd

from exptrack_pipeline.config import Experiment
from exptrack_pipeline.config.registry import load_experiment
from exptrack_pipeline.lifecycle import inputs, portfolio, store
from exptrack_pipeline.reports import OutputPaths
from exptrack_pipeline.reports.experiment import ReportInputs
from exptrack_pipeline.site import learnings as site_learnings

PORTFOLIO_CHANNEL_VAR = "EXPTRACK_PORTFOLIO_CHANNEL"  # Slack channel of the weekly/monthly summaries


def markdown_table(frame: pd.DataFrame) -> dg.MetadataValue:
    """A frame as a Markdown table for Dagster metadata (`_none_` when empty)."""
    return dg.MetadataValue.md(frame.to_markdown(index=False) if not frame.empty else "_none_")


def report_inputs(con, e: Experiment, lifecycle: pd.DataFrame, traffic: dict[str, float]) -> ReportInputs:
    """Everything one experiment's report needs, read from the warehouse."""
    where, params = "experiment_id = ?", [e.id]
    row = lifecycle.loc[e.id] if e.id in lifecycle.index else None
    decision = None
    if row is not None and pd.notna(row.get("decision")):
        decision = {
            "decision": row["decision"],
            "variant": row["variant"] if pd.notna(row["variant"]) else None,
            "decided_by": row["decided_by"],
            "rationale": row["rationale"],
            "decided_at": row["decided_at"],
        }
    return ReportInputs(
        experiment=e,
        status=str(row["status"]) if row is not None else e.status,
        results=inputs.optional_table(con, "main.experiment_results", where, params),
        decision=decision,
        retention=inputs.optional_table(con, "main.retention_results", where, params),
        cohorts=inputs.optional_table(con, "main.fct_retention_cohorts", where, params),
        segments=inputs.optional_table(con, "main.segment_results", where, params),
        novelty=inputs.optional_table(con, "main.lifecycle_novelty_stats", where, params),
        interaction=inputs.optional_table(
            con, "main.lifecycle_interaction_stats"
        ),  # the whole portfolio: one correction
        health=inputs.health_rows(con, e.id),
        flag_changes=inputs.optional_table(
            con, "state.flag_changes", where + " order by changed_at, change_seq", params
        ),
        daily_units=traffic.get(e.id),
    )


def config_bytes(experiments_dir: Path, experiment_id: str) -> tuple[str, bytes]:
    """The experiment's YAML file exactly as the user wrote it."""
    for path in sorted(experiments_dir.glob("*.y*ml")):
        try:
            if load_experiment(path).id == experiment_id:
                return path.name, path.read_bytes()
        except Exception:
            continue
    raise FileNotFoundError(f"{experiment_id}: no YAML in {experiments_dir} has this id; restore it before archiving")


def archive_files(
    con, e: Experiment, row: dict, events: pd.DataFrame, experiments_dir: Path, out: OutputPaths
) -> dict[str, bytes]:
    """Config, final results (latest analysis date), history, decision, report (+ PNGs) and handoff of one
    experiment."""
    name, config = config_bytes(experiments_dir, e.id)
    results = inputs.optional_table(con, "main.experiment_results", "experiment_id = ?", [e.id])
    final = results[results["analysis_date"] == results["analysis_date"].max()] if not results.empty else results
    mine = events[events["experiment_id"] == e.id] if not events.empty else events
    decision = {
        k: (None if pd.isna(row.get(k)) else str(row.get(k)))
        for k in ("decision", "variant", "decided_by", "rationale", "decided_at")
    }
    files = {
        f"config_{name}": config,
        "results_final.csv": final.to_csv(index=False).encode(),
        "results_history.csv": results.to_csv(index=False).encode(),
        "lifecycle_events.csv": mine.to_csv(index=False).encode(),
        "decision.json": json.dumps(
            {"experiment_id": e.id, "status": row["status"], **decision}, indent=2, sort_keys=True
        ).encode(),
    }
    files.update(
        site_learnings.archive_files(con, e.id)
    )  # learnings.json (the learnings library, exptrack decide --learned)
    for path in [
        out.reports / f"{e.id}.html",
        out.reports / f"{e.id}.md",
        *sorted(out.reports.glob(f"{e.id}_*.png")),
        out.handoffs / f"{e.id}.md",
    ]:
        if path.is_file():
            files[("handoff.md" if path.parent == out.handoffs else path.name)] = path.read_bytes()
    return files


def metrics_from(con, lifecycle: pd.DataFrame) -> dict[str, object]:
    """The portfolio's operational metrics from the lifecycle frame and status events."""
    return portfolio.operational_metrics(portfolio.launch_and_decision(lifecycle, store.all_events(con)))


def portfolio_numbers(warehouse: Any) -> dict[str, object]:
    """The portfolio's operational metrics, read from the warehouse."""
    with warehouse.connect(read_only=True) as con:
        return metrics_from(con, inputs.optional_table(con, "main.experiment_lifecycle"))


def post_summary(context: dg.AssetExecutionContext, slack: Any, message: tuple[str, list[dict]]) -> str:
    """Post through the monitoring feature's `slack` resource (its `sender()` is None without a token: files only).
    A delivery failure is logged and reported in the metadata; it never fails the asset (the files are written)."""
    sender = slack.sender() if hasattr(slack, "sender") else None
    if sender is None:
        return "not posted: no SLACK_BOT_TOKEN (files only)"
    channel = os.environ.get(PORTFOLIO_CHANNEL_VAR) or getattr(slack, "leadership_channel", "#experiments")
    text, blocks = message
    try:
        sender.post(channel, text, blocks)
    except Exception as exc:
        context.log.warning(f"Slack post to {channel} failed: {exc}")
        return f"failed to post to {channel}: {exc}"
    return f"posted to {channel}"


def write_summary(out: OutputPaths, name: str, stamp: str, doc) -> Path:
    """<name>.md/.html (latest) plus a dated Markdown copy <name>_<stamp>.md."""
    out.summaries.mkdir(parents=True, exist_ok=True)
    markdown = doc.markdown()
    (out.summaries / f"{name}.md").write_text(markdown)
    (out.summaries / f"{name}.html").write_text(doc.html())
    (out.summaries / f"{name}_{stamp}.md").write_text(markdown)
    return out.summaries / f"{name}.md"
