"""Portfolio summaries: the weekly status, the monthly cumulative-impact report and the operational metrics. Pure.

Monthly impact of shipped experiments (decision `ship`): the shipped variant's primary-metric lift at the latest
analysis date on or before the decision date. Per primary metric the lifts are combined as Π(1 + lift) − 1
(assumes they act independently on the same population), with the same for the lower CI bounds as a
conservative figure; the projected extra units per year are Σ abs_effect × daily new exposed users × 365.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
import pandas as pd

from exptrack_pipeline.config import Experiment
from exptrack_pipeline.lifecycle.portfolio import TIME_TO_DECISION_TARGET_DAYS, describe_conflicts
from exptrack_pipeline.reports import recommendation as conclusions
from exptrack_pipeline.reports.document import Document
from exptrack_pipeline.reports.experiment import ci, pct

WINNERS_CURSE = (
    "Caution — winner's curse: we ship the experiments whose estimates came out high, so the measured lifts of "
    "shipped variants overstate their true effect on average (more so for small or barely-significant wins). "
    "Read the combined lift as an upper-leaning estimate; the lower-bound column is a conservative floor, and "
    "a long-term holdback is the only way to measure the realised impact."
)


def latest_on_or_before(results: pd.DataFrame, experiment_id: str, on_or_before: dt.date | None = None) -> pd.DataFrame:
    """The experiment's result rows at its latest analysis date on or before `on_or_before`."""
    rows = results[results["experiment_id"] == experiment_id]
    if on_or_before is not None and not rows.empty:
        earlier = rows[pd.to_datetime(rows["analysis_date"]).dt.date <= on_or_before]
        rows = earlier if not earlier.empty else rows
    return rows[rows["analysis_date"] == rows["analysis_date"].max()] if not rows.empty else rows


def metrics_section(doc: Document, metrics: dict[str, object]) -> None:
    """Add the operational metrics table to the document."""

    def share(v: object) -> str:
        return "n/a" if v is None else f"{float(v):.0%}"  # type: ignore[arg-type]

    per_q = metrics["experiments_per_quarter"] or {}
    doc.table(
        pd.DataFrame(
            {
                "metric": [
                    "experiments launched per quarter",
                    "experiments decided",
                    f"median time to decision (target ≤ {TIME_TO_DECISION_TARGET_DAYS} days)",
                    f"decided within {TIME_TO_DECISION_TARGET_DAYS} days",
                    "win rate (ship / decided)",
                    "implementation rate (implemented / shipped)",
                ],
                "value": [
                    ", ".join(f"{q}: {n}" for q, n in per_q.items()) or "none",
                    str(metrics["experiments_decided"]),
                    "n/a"
                    if metrics["median_days_to_decision"] is None
                    else f"{metrics['median_days_to_decision']:.1f} days",
                    share(metrics["share_decided_within_target"]),
                    share(metrics["win_rate"]),
                    share(metrics["implementation_rate"]),
                ],
            }
        ),
        "tbl-operational",
    )


def weekly_status(
    report_date: dt.date,
    experiments: list[Experiment],
    portfolio: pd.DataFrame,
    results: pd.DataFrame,
    events: pd.DataFrame,
    backlog: pd.DataFrame,
    conflicts: pd.DataFrame,
    metrics: dict[str, object],
    health: Callable[[str], pd.DataFrame] | None = None,
) -> Document:
    """Active portfolio (scheduled/running/paused) with progress and the current recommendation, this week's moves
    and decisions, the top of the backlog, scheduling conflicts and the operational metrics."""
    week_start = report_date - dt.timedelta(days=6)
    doc = Document(f"Weekly experiment status — week {week_start} to {report_date}")
    through = conclusions.data_through(results)
    doc.para(
        f"Data through {through or 'n/a'}. Recommendations use the always-valid test before an experiment's "
        "planned end."
    )
    status = portfolio.set_index("experiment_id")["status"].to_dict()
    rows = []
    for e in experiments:
        if status.get(e.id) not in ("scheduled", "running", "paused"):
            continue
        latest = latest_on_or_before(results, e.id)
        rec = conclusions.recommend(e, latest, health(e.id) if health else None)
        prim = latest[latest["metric_role"] == "primary"]
        best = prim.sort_values("prob_beat_control", ascending=False).head(1)
        planned = (e.end_date - e.start_date).days + 1
        day = min((through - e.start_date).days + 1, planned) if through and through >= e.start_date else 0
        units = int(prim["n_control"].max() + prim.groupby("variant")["n_variant"].max().sum()) if not prim.empty else 0
        rows.append(
            {
                "experiment": e.id,
                "status": status[e.id],
                "owner": e.owner,
                "day": f"{day} of {planned}",
                "units": f"{units:,}",
                "best variant": best["variant"].iloc[0] if not best.empty else "n/a",
                "primary lift": pct(best["rel_lift"].iloc[0]) if not best.empty else "n/a",
                "always-valid CI": ci(best["seq_rel_lift_ci_low"].iloc[0], best["seq_rel_lift_ci_high"].iloc[0])
                if not best.empty
                else "n/a",
                "recommendation": rec.headline.replace("Recommendation: ", "").replace("**", ""),
                "trade-offs and risks": "; ".join(rec.trade_offs) or "none",
            }
        )
    doc.heading("Active experiments")
    doc.table(pd.DataFrame(rows), "tbl-active")
    doc.heading("Moves and decisions this week")
    recent = events[pd.to_datetime(events["occurred_at"]).dt.date >= week_start] if not events.empty else events
    if recent.empty:
        doc.para("none")
    else:
        doc.bullets(
            [
                f"{pd.Timestamp(r.occurred_at):%Y-%m-%d} {r.experiment_id}: "
                + (
                    f"decision {r.decision}{' ' + r.variant if isinstance(r.variant, str) else ''}"
                    if r.event_type == "decision"
                    else f"{r.from_status or '?'} → {r.to_status}"
                    if r.event_type == "transition"
                    else "implemented"
                )
                + f" by {r.actor} ({r.reason})"
                for r in recent.itertuples()
            ]
        )
    doc.heading("Backlog (top 5 by ICE score)")
    doc.table(backlog.head(5).astype(str), "tbl-backlog")
    doc.heading("Scheduling conflicts")
    doc.para(describe_conflicts(conflicts) if not conflicts.empty else "none")
    doc.heading("Operational metrics")
    metrics_section(doc, metrics)
    return doc


def shipped_effects(outcomes: pd.DataFrame, results: pd.DataFrame, daily_units: dict[str, float]) -> pd.DataFrame:
    """One row per shipped experiment: decided_on, primary metric, lift and CI at decision time, projected
    units/year."""
    rows = []
    for o in outcomes[outcomes["decision"] == "ship"].itertuples():
        latest = latest_on_or_before(results, o.experiment_id, o.decided_on)
        r = latest[(latest["metric_role"] == "primary") & (latest["variant"] == o.shipped_variant)]
        if r.empty:
            continue
        r = r.iloc[0]
        units = daily_units.get(o.experiment_id)
        rows.append(
            {
                "experiment_id": o.experiment_id,
                "variant": o.shipped_variant,
                "decided_on": o.decided_on,
                "metric_id": r["metric_id"],
                "rel_lift": r["rel_lift"],
                "rel_lift_ci_low": r["rel_lift_ci_low"],
                "rel_lift_ci_high": r["rel_lift_ci_high"],
                "projected_per_year": r["abs_effect"] * units * 365 if units else np.nan,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "experiment_id",
            "variant",
            "decided_on",
            "metric_id",
            "rel_lift",
            "rel_lift_ci_low",
            "rel_lift_ci_high",
            "projected_per_year",
        ],
    )


def combine(effects: pd.DataFrame) -> pd.DataFrame:
    """Per metric: experiments shipped, combined lift Π(1 + lift) − 1, the same over lower CI bounds, Σ projected
    units."""
    if effects.empty:
        return pd.DataFrame(
            columns=["metric_id", "shipped", "combined_lift", "combined_lift_low", "projected_per_year"]
        )
    return effects.groupby("metric_id", as_index=False).agg(
        shipped=("experiment_id", "count"),
        combined_lift=("rel_lift", lambda s: float(np.prod(1 + s) - 1)),
        combined_lift_low=("rel_lift_ci_low", lambda s: float(np.prod(1 + s) - 1)),
        projected_per_year=("projected_per_year", lambda s: float(s.sum(min_count=1)) if s.notna().any() else np.nan),
    )


def monthly_impact(
    report_date: dt.date, effects: pd.DataFrame, metrics: dict[str, object], synthesis: dict[str, object] | None = None
) -> Document:
    """Shipped effects this month and cumulatively (see the module docstring), with the winner's-curse caution, and
    the learnings synthesis (site.learnings.synthesis: themes and win rates by surface and metric, follow-up ideas)."""
    month = report_date.strftime("%Y-%m")
    doc = Document(f"Monthly cumulative impact — {month}")
    this_month = (
        effects[pd.to_datetime(effects["decided_on"]).dt.strftime("%Y-%m") == month] if not effects.empty else effects
    )
    for title, frame, table_id in (
        ("Shipped this month", this_month, "tbl-month"),
        ("Cumulative (all shipped experiments)", effects, "tbl-cumulative"),
    ):
        doc.heading(title)
        if frame.empty:
            doc.para("no shipped experiments")
            continue
        doc.table(
            pd.DataFrame(
                {
                    "experiment": frame["experiment_id"],
                    "variant": frame["variant"],
                    "decided": frame["decided_on"].astype(str),
                    "metric": frame["metric_id"],
                    "lift": frame["rel_lift"].map(pct),
                    "CI": [ci(a, b) for a, b in zip(frame["rel_lift_ci_low"], frame["rel_lift_ci_high"], strict=True)],
                    "projected / year": frame["projected_per_year"].map(lambda v: "n/a" if pd.isna(v) else f"{v:,.0f}"),
                }
            ),
            table_id,
        )
        combined = combine(frame)
        doc.table(
            pd.DataFrame(
                {
                    "metric": combined["metric_id"],
                    "shipped": combined["shipped"].astype(str),
                    "combined lift Π(1+lift)−1": combined["combined_lift"].map(pct),
                    "conservative (lower bounds)": combined["combined_lift_low"].map(pct),
                    "projected / year": combined["projected_per_year"].map(
                        lambda v: "n/a" if pd.isna(v) else f"{v:,.0f}"
                    ),
                }
            ),
            f"{table_id}-combined",
        )
    doc.summary(WINNERS_CURSE)
    if synthesis is not None:
        learnings_section(doc, synthesis)
    doc.heading("Operational metrics")
    metrics_section(doc, metrics)
    return doc


def learnings_section(doc: Document, synthesis: dict[str, object]) -> None:
    """Themes by surface and by primary metric (decided, shipped, wins, win rate) and the follow-up ideas."""
    doc.heading("Learnings synthesis")
    for key, label, table_id in (
        ("by_surface", "surface", "tbl-themes-surface"),
        ("by_metric", "primary_metric", "tbl-themes-metric"),
    ):
        frame = synthesis.get(key)
        if not isinstance(frame, pd.DataFrame) or frame.empty:
            doc.para(f"no decided experiments by {label.replace('_', ' ')} yet")
            continue
        doc.table(
            pd.DataFrame(
                {
                    label.replace("_", " "): frame[label],
                    "decided": frame["decided"],
                    "shipped": frame["shipped"],
                    "wins": frame["wins"],
                    "win rate": frame["win_rate"].map(lambda v: f"{v:.0%}"),
                    "experiments": frame["experiments"],
                }
            ),
            table_id,
        )
    ideas = synthesis.get("ideas") or []
    doc.para(
        "Follow-up ideas from the learnings:"
        if ideas
        else "Follow-up ideas: none recorded yet (`exptrack decide ... --follow-up`)."
    )
    if ideas:
        doc.bullets(
            [
                f"{i['idea']} ({i['experiment_id']}, {i['surface']}"
                + (f"; queued there: {i['queued']})" if i["queued"] else ")")
                for i in ideas
            ]
        )


def slack_message(doc: Document, table_id: str, columns: list[str], path: str) -> tuple[str, list[dict]]:
    """A short Slack message (text fallback + Block Kit): the document's title, one line per row of one of its tables
    (the chosen columns joined by " · "), and where the full report is."""
    table = next((b.frame for kind, b in doc.blocks if kind == "table" and b.table_id == table_id), pd.DataFrame())  # type: ignore[union-attr]
    lines = [" · ".join(str(row[c]) for c in columns if c in row) for _, row in table.iterrows()] or [
        "nothing to report"
    ]
    body = "\n".join(f"• {line}" for line in lines)[:2900]
    text = f"{doc.title}\n{body}\nFull report: {path}"
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": doc.title[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": body}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"Full report: `{path}`"}]},
    ]
    return text, blocks
