"""One experiment's decision report (Markdown + HTML + PNGs) from frames. Pure: no Dagster, no warehouse.

Sections: executive summary (recommendation and confidence, see reports/recommendation.py), primary/secondary/guardrail
tables at the latest analysis date, forest plot, cumulative lift with its always-valid CI band, retention, segment
breakdown, health, novelty check, interaction check and a long-term projection with its assumptions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from exptrack_pipeline.config import Experiment
from exptrack_pipeline.reports import plots
from exptrack_pipeline.reports import recommendation as conclusions
from exptrack_pipeline.reports.document import Document


@dataclass
class ReportInputs:
    """Everything one experiment's report is rendered from."""

    experiment: Experiment
    status: str
    results: pd.DataFrame  # experiment_results rows of this experiment, every analysis date
    decision: dict | None = None
    retention: pd.DataFrame = field(default_factory=pd.DataFrame)  # retention_results rows
    cohorts: pd.DataFrame = field(default_factory=pd.DataFrame)  # fct_retention_cohorts rows
    segments: pd.DataFrame = field(default_factory=pd.DataFrame)  # segment_results rows
    novelty: pd.DataFrame = field(default_factory=pd.DataFrame)  # lifecycle_novelty_stats rows
    interaction: pd.DataFrame = field(default_factory=pd.DataFrame)  # lifecycle_interaction_stats rows
    health: pd.DataFrame | None = None  # None: no health data available
    flag_changes: pd.DataFrame = field(
        default_factory=pd.DataFrame
    )  # state.flag_changes rows (exptrack_pipeline.flags)
    daily_units: float | None = None


@dataclass
class Rendered:
    """A rendered report: Markdown, HTML, images, the key table and the recommendation."""

    experiment_id: str
    markdown: str
    html: str
    images: dict[str, bytes]
    key_table: str  # markdown, for the Dagster UI
    recommendation: conclusions.Recommendation


def pct(x: object, digits: int = 1) -> str:
    """A relative value as a signed percentage ("n/a" when missing)."""
    return "n/a" if x is None or pd.isna(x) else f"{float(x) * 100:+.{digits}f}%"


def ci(low: object, high: object) -> str:
    """A CI as "[low%, high%]" ("n/a" when either bound is missing)."""
    return "n/a" if pd.isna(low) or pd.isna(high) else f"[{pct(low)}, {pct(high)}]"


def num(x: object, fmt: str = ".4g") -> str:
    """A number in format `fmt` ("n/a" when missing)."""
    return "n/a" if x is None or pd.isna(x) else format(float(x), fmt)


def results_table(rows: pd.DataFrame, harm: dict[str, float] | None = None) -> pd.DataFrame:
    """Display rows: lift and CI in % with one decimal (the adjusted fixed-horizon CI and the always-valid one)."""
    out = pd.DataFrame(
        {
            "metric": rows["metric_id"],
            "variant": rows["variant"],
            "n control": rows["n_control"].map(lambda v: f"{int(v):,}"),
            "n variant": rows["n_variant"].map(lambda v: f"{int(v):,}"),
            "control": rows["mean_control"].map(num),
            "treatment": rows["mean_variant"].map(num),
            "lift": rows["rel_lift"].map(pct),
            "CI (adjusted)": [ci(a, b) for a, b in zip(rows["rel_lift_ci_low"], rows["rel_lift_ci_high"], strict=True)],
            "p (adjusted)": rows["p_value_adjusted"].map(lambda v: num(v, ".3g")),
            "always-valid CI": [
                ci(a, b) for a, b in zip(rows["seq_rel_lift_ci_low"], rows["seq_rel_lift_ci_high"], strict=True)
            ],
            "P(better)": rows["prob_beat_control"].map(lambda v: "n/a" if pd.isna(v) else f"{v:.1%}"),
        }
    )
    if harm is not None:
        out["tolerance"] = rows["metric_id"].map(lambda m: f"{harm.get(m, 0.0):.0%}")
    return out.reset_index(drop=True)


def retention_curves(cohorts: pd.DataFrame) -> pd.DataFrame:
    """Pooled curve: rate(k) = Σ retained_units / Σ eligible_units over the cohorts eligible for day k."""
    if cohorts.empty:
        return cohorts
    g = cohorts.groupby(["variant", "day_since_exposure"], as_index=False)[["eligible_units", "retained_units"]].sum()
    g["retention_rate"] = g["retained_units"] / g["eligible_units"].where(g["eligible_units"] > 0)
    return g


def render(inputs: ReportInputs) -> Rendered:
    """Render one experiment's report."""
    e = inputs.experiment
    res = inputs.results
    as_of = conclusions.data_through(res)
    latest = res[res["analysis_date"] == res["analysis_date"].max()] if not res.empty else res
    nov_frame, nov_text = conclusions.novelty_check(
        inputs.novelty, _direction(latest, e.primary_metric), e.success_criteria.alpha
    )
    int_frame, int_text = conclusions.interaction_check(inputs.interaction, e.success_criteria.alpha, e.id)
    rec = conclusions.recommend(e, latest, inputs.health, novelty=nov_frame, interaction=int_frame)
    harm = {g.metric: g.max_relative_harm for g in e.guardrail_metrics}
    doc = Document(f"{e.name} (`{e.id}`)")
    doc.para(
        f"Status **{inputs.status}** · owner {e.owner} · PM {e.pm or 'n/a'} · surface `{e.surface}` · audience "
        f"`{e.audience}` · "
        f"planned {e.start_date} → {e.end_date} · data through {as_of or 'n/a'}"
    )
    doc.para(f"Hypothesis: {e.hypothesis.strip()}")

    doc.heading("Executive summary")
    doc.summary(rec.headline)
    doc.bullets(rec.reasons)
    if rec.options:
        doc.para(
            "Options, with the expected loss on the primary metric (Bayesian, relative, in its good direction) "
            "and their risks:"
        )
        doc.table(
            pd.DataFrame(
                {
                    "option": [o.action for o in rec.options],
                    "expected loss": [
                        pct(o.expected_loss) if o.expected_loss is not None else "n/a" for o in rec.options
                    ],
                    "risks and trade-offs": ["; ".join(o.risks) or "none" for o in rec.options],
                }
            ),
            "tbl-options",
        )
    if inputs.decision:
        d = inputs.decision
        what = f"ship `{d['variant']}`" if d["decision"] == "ship" else d["decision"]
        doc.para(
            f"Decision recorded: **{what}** by {d['decided_by']} on {pd.Timestamp(d['decided_at']):%Y-%m-%d}: "
            f"{d['rationale']}"
        )
    else:
        doc.para("Decision recorded: none yet (`exptrack decide` records one).")

    tables = {}
    for role, title in (
        ("primary", "Primary metric"),
        ("secondary", "Secondary metrics"),
        ("guardrail", "Guardrail metrics"),
    ):
        doc.heading(title)
        rows = latest[latest["metric_role"] == role] if not latest.empty else latest
        tables[role] = results_table(rows, harm if role == "guardrail" else None) if not rows.empty else pd.DataFrame()
        doc.table(tables[role], f"tbl-{role}")
    doc.para(
        "Lift = treatment / control − 1. CI (adjusted): fixed-horizon interval at level 1 − alpha/comparisons, "
        "valid at the "
        "planned end; always-valid CI: sequential interval, safe to read every day. P(better): Bayesian "
        "probability the "
        "variant is better in the metric's good direction."
    )
    if not latest.empty and "correction_procedure" in latest:
        doc.para(
            f"Multiple comparisons: {', '.join(sorted(set(latest['correction_procedure'])))}; "
            f"tests: {', '.join(sorted(set(latest['method'])))}; "
            f"hypotheses: {', '.join(sorted(set(latest['alternative'])))} (docs/statistics.md)."
        )

    forest = plots.forest_plot(latest, f"{e.id}: effects at {as_of}") if not latest.empty else None
    if forest:
        doc.heading("Forest plot")
        doc.image(f"{e.id}_forest.png", forest, "forest plot of relative lifts")

    doc.heading("Cumulative lift over time")
    primary_history = res[res["metric_role"] == "primary"] if not res.empty else res
    if primary_history.empty:
        doc.para("no results yet")
    else:
        doc.image(
            f"{e.id}_cumulative.png",
            plots.cumulative_lift_plot(primary_history, f"{e.primary_metric}: cumulative lift, always-valid CI band"),
            "cumulative lift with sequential CI band",
        )

    doc.heading("Retention")
    if inputs.retention.empty and inputs.cohorts.empty:
        doc.para("no retention data")
    if not inputs.retention.empty:
        r = inputs.retention.sort_values(["retention_day", "is_control", "variant"], ascending=[True, False, True])
        doc.table(
            pd.DataFrame(
                {
                    "day": r["retention_day"].astype(int).map(lambda d: f"D{d}"),
                    "variant": r["variant"],
                    "eligible": r["eligible_units"].map(lambda v: f"{int(v):,}"),
                    "retained": r["retained_units"].map(lambda v: f"{int(v):,}"),
                    "rate": r["retention_rate"].map(lambda v: "n/a" if pd.isna(v) else f"{v:.1%}"),
                    "CI": [
                        ("n/a" if pd.isna(a) else f"[{a:.1%}, {b:.1%}]")
                        for a, b in zip(r["ci_low"], r["ci_high"], strict=True)
                    ],
                }
            ),
            "tbl-retention",
        )
    curves = retention_curves(inputs.cohorts)
    if not curves.empty:
        doc.image(
            f"{e.id}_retention.png",
            plots.retention_plot(curves, f"{e.id}: retention curves (pooled cohorts)"),
            "retention curves",
        )

    doc.heading("Segments (primary metric)")
    seg = inputs.segments
    seg = seg[seg["metric_id"] == e.primary_metric] if not seg.empty else seg
    if seg.empty:
        doc.para("no segment data")
    else:
        seg = seg.sort_values(["attribute", "attribute_value", "variant"])
        doc.table(
            pd.DataFrame(
                {
                    "attribute": seg["attribute"],
                    "value": seg["attribute_value"],
                    "variant": seg["variant"],
                    "n control": seg["n_control"].map(lambda v: f"{int(v):,}"),
                    "n variant": seg["n_variant"].map(lambda v: f"{int(v):,}"),
                    "lift": seg["rel_lift"].map(pct),
                    "CI": [ci(a, b) for a, b in zip(seg["rel_lift_ci_low"], seg["rel_lift_ci_high"], strict=True)],
                    "p": seg["p_value"].map(lambda v: num(v, ".3g")),
                    "SRM p": seg["srm_p_value"].map(lambda v: num(v, ".3g")),
                    "warning": seg["warning"].fillna(""),
                }
            ),
            "tbl-segments",
        )
        doc.para(
            "Segment results are exploratory: many segments are tested, so expect some false positives; SRM p "
            "< 0.001 means the split is broken in that segment."
        )

    doc.heading("Health")
    if inputs.health is None or inputs.health.empty:
        doc.para("no health data")
    else:
        doc.table(inputs.health.astype(str), "tbl-health")

    doc.heading("Feature flag")
    if inputs.flag_changes.empty:
        doc.para("no flag changes recorded")
    else:
        f = inputs.flag_changes
        doc.table(
            pd.DataFrame(
                {
                    "when (UTC)": pd.to_datetime(f["changed_at"]).dt.strftime("%Y-%m-%d %H:%M"),
                    "flag": f["flag_key"],
                    "serves": f["note"],
                    "by": f["actor"],
                    "source": f["source"],
                    "why": f["reason"].str.slice(0, 120),
                }
            ),
            "tbl-flags",
        )

    doc.heading("Novelty check")
    k = int(inputs.novelty["period_days"].iloc[0]) if not inputs.novelty.empty else 7
    doc.para(
        f"Method: the primary metric's lift over days [0, {k}) since exposure vs days [{k}, {2 * k}), on the "
        "units exposed long "
        "enough to observe both periods; z-test of the difference of the two lifts with the within-unit "
        "covariance of the "
        f"two periods (the same units are in both), Bonferroni over variants."
    )
    doc.summary(f"Novelty: {nov_text}")
    if not nov_frame.empty:
        doc.table(_diff_table(nov_frame, "early", "late"), "tbl-novelty")

    doc.heading("Interaction with concurrent experiments")
    doc.para(
        "Method: among users who are also in another experiment B, the primary metric's lift among B's control "
        "users vs among "
        "B's treatment users (B's treatments pooled); z-test of the difference, Bonferroni over every pair of "
        "concurrent "
        "experiments tested in the portfolio."
    )
    doc.summary(f"Interaction: {int_text}")
    if not int_frame.empty:
        doc.table(_diff_table(int_frame, "control", "treatment"), "tbl-interaction")

    doc.heading("Long-term projection")
    proj = conclusions.projection(
        latest[latest["metric_role"] == "primary"] if not latest.empty else latest, inputs.daily_units
    )
    if proj.empty:
        doc.para("not available (no results or no traffic data)")
    else:
        doc.table(
            pd.DataFrame(
                {
                    "variant": proj["variant"],
                    "metric": proj["metric_id"],
                    "lift": proj["rel_lift"].map(pct),
                    "per-user effect": proj["per_user_effect"].map(num),
                    "users / year": proj["users_per_year"].map(lambda v: f"{int(v):,}"),
                    "projected / year": proj["projected"].map(lambda v: num(v, ",.0f")),
                    "range (CI)": [
                        f"{num(a, ',.0f')} to {num(b, ',.0f')}"
                        for a, b in zip(proj["projected_low"], proj["projected_high"], strict=True)
                    ],
                }
            ),
            "tbl-projection",
        )
        doc.para(
            "Projected extra units of the primary metric per year = per-user effect × new exposed users per "
            "day × 365. Assumptions:"
        )
        doc.bullets(list(conclusions.PROJECTION_ASSUMPTIONS))

    key = latest[latest["metric_role"].isin(["primary", "guardrail"])] if not latest.empty else latest
    key_md = results_table(key).to_markdown(index=False) if not key.empty else "_no results yet_"
    key_md = f"{rec.headline}\n\n{key_md}"
    return Rendered(e.id, doc.markdown(), doc.html(), doc.images, key_md, rec)


def _direction(latest: pd.DataFrame, metric_id: str) -> str:
    rows = latest[latest["metric_id"] == metric_id] if not latest.empty else latest
    return str(rows["direction"].iloc[0]) if not rows.empty else "increase"


def _diff_table(frame: pd.DataFrame, first: str, second: str) -> pd.DataFrame:
    cols = {"other_experiment_id": "other experiment"} if "other_experiment_id" in frame.columns else {}
    out = pd.DataFrame({label: frame[col] for col, label in cols.items()})
    out["variant"] = frame["variant"]
    out[f"lift ({first})"] = frame[f"lift_{first}"].map(pct)
    out[f"lift ({second})"] = frame[f"lift_{second}"].map(pct)
    out[f"n ({first})"] = frame[f"n_{first}"].map(lambda v: f"{int(v):,}")
    out[f"n ({second})"] = frame[f"n_{second}"].map(lambda v: f"{int(v):,}")
    out["difference"] = frame["difference"].map(pct)
    out["p (adjusted)"] = frame["p_value_adjusted"].map(lambda v: num(v, ".3g"))
    return out.reset_index(drop=True)
