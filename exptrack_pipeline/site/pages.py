"""What each page shows, as plain dicts for the templates (pure: SiteData in, context out).

Portfolio row: status, owner, day N of M (data through the latest analysis date), progress to the planned sample
size (the monitoring feature's `sample_size` verdict: min over arms of units ÷ required units), health badges (the
latest verdict of each check), the primary lift of the best variant (highest P(beat control)) with its always-valid
CI, the recommendation (reports/conclusions.recommend) and the open alerts (outbox alerts whose check still fails in
the latest verdict).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from exptrack_pipeline.config import Experiment
from exptrack_pipeline.reports import recommendation as conclusions
from exptrack_pipeline.reports.experiment import retention_curves
from exptrack_pipeline.reports.summaries import latest_on_or_before
from exptrack_pipeline.site import charts, learnings
from exptrack_pipeline.site.data import SiteData

BADGE_CHECKS = {
    "srm": "SRM",
    "freshness": "freshness",
    "instrumentation": "instrumentation",
    "guardrail_harm": "guardrails",
}
BADGE_CLASS = {"pass": "ok", "reached": "ok", "fail": "fail", "skip": "na"}


def latest_findings(data: SiteData, experiment_id: str) -> pd.DataFrame:
    """The latest verdict of every check of one experiment (monitoring.health_findings)."""
    f = data.of("findings", experiment_id)
    if f.empty:
        return f
    return f.sort_values(["check_name", "as_of"]).groupby("check_name", as_index=False).tail(1).reset_index(drop=True)


def badges(findings: pd.DataFrame) -> list[dict]:
    """Health badges (label, status) for the checks the site shows."""
    by_check = findings.set_index("check_name") if not findings.empty else pd.DataFrame()
    out = []
    for check, label in BADGE_CHECKS.items():
        if check in by_check.index:
            r = by_check.loc[check]
            out.append(
                {
                    "check": check,
                    "label": label,
                    "status": str(r["status"]),
                    "css": BADGE_CLASS.get(str(r["status"]), "na"),
                    "summary": str(r["summary"]),
                    "as_of": str(r["as_of"])[:10],
                }
            )
        else:
            out.append(
                {
                    "check": check,
                    "label": label,
                    "status": "no data",
                    "css": "na",
                    "summary": "no health verdict yet",
                    "as_of": "",
                }
            )
    return out


def open_alerts(data: SiteData, experiment_id: str, findings: pd.DataFrame) -> pd.DataFrame:
    """The experiment's alerts whose check still fails, latest per alert key."""
    alerts = data.of("alerts", experiment_id)
    if alerts.empty or findings.empty:
        return alerts.iloc[0:0] if not alerts.empty else alerts
    failing = set(findings.loc[findings["status"] == "fail", "check_name"])
    return alerts[alerts["check_name"].isin(failing)].drop_duplicates("alert_key", keep="last")


def progress(findings: pd.DataFrame) -> float | None:
    """Progress towards the planned sample size (sample_size check), None when unknown."""
    rows = findings[findings["check_name"] == "sample_size"] if not findings.empty else findings
    if rows.empty:
        return None
    value = json.loads(rows["details_json"].iloc[0] or "{}").get("progress")
    return float(value) if value is not None else None


def latest_results(data: SiteData, experiment_id: str) -> pd.DataFrame:
    """The experiment's results at its latest analysis date."""
    return latest_on_or_before(data.results, experiment_id) if not data.results.empty else data.results


def best_primary(e: Experiment, latest: pd.DataFrame) -> pd.Series | None:
    """The primary-metric row of the variant most likely to beat control, None without one."""
    prim = latest[latest["metric_role"] == "primary"] if not latest.empty else latest
    if prim.empty:
        return None
    return prim.sort_values(["prob_beat_control", "variant"], ascending=[False, True], na_position="last").iloc[0]


def day_of(e: Experiment, through) -> tuple[int, int]:
    """(day of the experiment as of `through`, planned days)."""
    planned = (e.end_date - e.start_date).days + 1
    day = min((through - e.start_date).days + 1, planned) if through and through >= e.start_date else 0
    return day, planned


def recommendation(data: SiteData, e: Experiment, latest: pd.DataFrame) -> conclusions.Recommendation:
    """The report's recommendation: the same rule with the same health verdicts (integrity failures lower the
    confidence)."""
    return conclusions.recommend(e, latest, latest_findings(data, e.id))


def portfolio_row(data: SiteData, e: Experiment) -> dict:
    """One experiment's row of the portfolio page."""
    findings = latest_findings(data, e.id)
    latest = latest_results(data, e.id)
    best = best_primary(e, latest)
    rec = recommendation(data, e, latest)
    day, planned = day_of(e, data.data_through)
    alerts = open_alerts(data, e.id, findings)
    prog = progress(findings)
    return {
        "id": e.id,
        "name": e.name,
        "status": data.status(e.id),
        "owner": e.owner,
        "surface": e.surface,
        "day": day,
        "planned_days": planned,
        "progress": prog,
        "progress_pct": None if prog is None else min(prog, 1.0) * 100,
        "badges": badges(findings),
        "variant": None if best is None else best["variant"],
        "lift": None if best is None else _num(best["rel_lift"]),
        "seq_low": None if best is None else _num(best["seq_rel_lift_ci_low"]),
        "seq_high": None if best is None else _num(best["seq_rel_lift_ci_high"]),
        "recommendation": rec.action + (f" {rec.variant}" if rec.variant else ""),
        "confidence": rec.label,
        "alerts": [
            {"title": a.title, "level": int(a.level), "date": str(a.alert_date)[:10]} for a in alerts.itertuples()
        ],
    }


def _num(v: object) -> float | None:
    return None if v is None or pd.isna(v) else float(v)


def result_rows(rows: pd.DataFrame, e: Experiment) -> list[dict]:
    """Display rows of experiment_results with their verdict; numbers kept exact for data-value attributes."""
    harm = {g.metric: g.max_relative_harm for g in e.guardrail_metrics}
    out = []
    for r in rows.sort_values(["metric_id", "variant"]).itertuples():
        good = (r.rel_lift > 0) == (r.direction == "increase") if pd.notna(r.rel_lift) else None
        sig = bool(r.seq_is_significant)
        if r.metric_role == "guardrail":
            breached = sig and good is False and abs(r.rel_lift) > harm.get(r.metric_id, 0.0)
            verdict = "breached" if breached else "within tolerance"
        else:
            verdict = "no detectable difference" if not sig else ("better" if good else "worse")
        out.append(
            {
                "metric": r.metric_id,
                "variant": r.variant,
                "role": r.metric_role,
                "verdict": verdict,
                "verdict_css": {"better": "ok", "within tolerance": "ok", "worse": "fail", "breached": "fail"}.get(
                    verdict, "na"
                ),
                **{
                    c: _num(getattr(r, c))
                    for c in (
                        "n_control",
                        "n_variant",
                        "mean_control",
                        "mean_variant",
                        "rel_lift",
                        "rel_lift_ci_low",
                        "rel_lift_ci_high",
                        "seq_rel_lift_ci_low",
                        "seq_rel_lift_ci_high",
                        "p_value_adjusted",
                        "prob_beat_control",
                    )
                },
            }
        )
    return out


def experiment_context(data: SiteData, e: Experiment, library_row: dict | None) -> dict:
    """Everything the experiment page shows."""
    latest = latest_results(data, e.id)
    findings = latest_findings(data, e.id)
    history = data.of("results", e.id)
    primary_history = history[history["metric_role"] == "primary"] if not history.empty else history
    curves = retention_curves(data.of("cohorts", e.id))
    segments = data.of("segments", e.id)
    segments = (
        segments[segments["metric_id"] == e.primary_metric].sort_values(["attribute", "attribute_value", "variant"])
        if not segments.empty
        else segments
    )
    events = data.of("events", e.id)
    outcome = data.of("outcomes", e.id)
    colors = {v.name: charts.PALETTE[i % len(charts.PALETTE)] for i, v in enumerate(e.variants)}
    return {
        "row": portfolio_row(data, e),
        "e": e,
        "as_of": latest["analysis_date"].max() if not latest.empty else None,
        "recommendation": recommendation(data, e, latest),
        "results": {
            role: result_rows(latest[latest["metric_role"] == role], e) if not latest.empty else []
            for role in ("primary", "secondary", "guardrail")
        },
        "forest": charts.forest(latest) if not latest.empty else None,
        "cumulative": charts.lines(
            primary_history, "analysis_date", "rel_lift", ("seq_rel_lift_ci_low", "seq_rel_lift_ci_high"), colors=colors
        )
        if not primary_history.empty
        else None,
        "retention_chart": charts.lines(
            curves, "day_since_exposure", "retention_rate", None, y_format="rate", colors=colors
        )
        if not curves.empty
        else None,
        "retention": data.of("retention", e.id).sort_values(["retention_day", "variant"]).to_dict("records")
        if not data.of("retention", e.id).empty
        else [],
        "segments": segments.to_dict("records"),
        "findings": findings.to_dict("records"),
        "finding_history": data.of("findings", e.id)
        .sort_values(["as_of", "check_name"], ascending=[False, True])
        .to_dict("records")
        if not data.of("findings", e.id).empty
        else [],
        "alerts": data.of("alerts", e.id).drop_duplicates("alert_id").to_dict("records")
        if not data.of("alerts", e.id).empty
        else [],
        "events": events.to_dict("records"),
        "pauses": data.of("status_events", e.id).to_dict("records") if not data.status_events.empty else [],
        "decision": outcome.iloc[0].to_dict() if not outcome.empty and pd.notna(outcome["decision"].iloc[0]) else None,
        "learning": library_row,
    }


def primary_result_text(data: SiteData, e: Experiment, on_or_before) -> str:
    """The primary result at a date in words, for the learnings library."""
    latest = latest_on_or_before(data.results, e.id, on_or_before) if not data.results.empty else data.results
    best = best_primary(e, latest)
    if best is None:
        return "no results"
    return (
        f"{e.primary_metric}: {best['variant']} {charts.pct(_num(best['rel_lift']))} (always-valid CI "
        f"{charts.pct(_num(best['seq_rel_lift_ci_low']))} to {charts.pct(_num(best['seq_rel_lift_ci_high']))}) "
        f"on {pd.Timestamp(best['analysis_date']).date()}"
    )


def finite(v: object) -> bool:
    """True unless `v` is None or a non-finite float."""
    return v is not None and not (isinstance(v, float) and not np.isfinite(v))


def library(data: SiteData) -> pd.DataFrame:
    """The learnings library (site/learnings.py) with each experiment's primary result at its decision date."""
    texts = {
        e.id: primary_result_text(data, e, d) for e in data.experiments for d in data.of("outcomes", e.id)["decided_on"]
    }
    return learnings.library(data.experiments, data.learnings, data.outcomes, texts)
