"""What a report concludes, computed from frames (pure; every test goes through `exptrack_pipeline.stats`).

Recommendation (latest analysis date; the rules are analysis/decisions.py, shared with monitoring and the weekly status:
"significant" = fixed-horizon `is_significant` once the planned end date is reached, else the always-valid
`seq_is_significant`; harm = `seq_is_harmful`, the always-valid test against the allowed margin):
  ship V      — V's primary metric is significantly better, it does not harm the primary metric and no guardrail of V
                is breached; among several such variants, the one with the highest P(beat control).
  rollback    — otherwise, when some variant's primary metric is significantly worse or a guardrail is breached.
  keep running— otherwise, before the planned end date.
  iterate     — otherwise (the planned horizon is reached and nothing is detectable).
Confidence = the Bayesian P(the recommendation is right): P(beat control) of the shipped variant's primary metric; for
rollback, P(worse) of the harmed metric; else P(beat control) of the best variant. Label: high ≥ 0.95, medium ≥ 0.80,
else low; then capped: at medium when a secondary metric of the shipped variant is likely worse (P(worse) ≥ 0.95) or a
novelty effect is detected, at low when a secondary metric is significantly worse (a trade-off) or a monitoring
integrity check fails (SRM, multiple exposure, instrumentation). Every trade-off and risk is named, and each option
(ship each variant, rollback, keep running/iterate) is listed with its expected loss on the primary metric (Bayesian,
in the metric's good direction) and its risks.

Novelty and interaction checks live in analysis/heterogeneity.py (shared with monitoring) and are re-exported here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from exptrack_pipeline.analysis import decisions
from exptrack_pipeline.analysis.heterogeneity import interaction_check, lift_difference, novelty_check
from exptrack_pipeline.config import Experiment

__all__ = ["Option", "Recommendation", "interaction_check", "lift_difference", "novelty_check", "recommend"]
INTEGRITY_CHECKS = ("srm", "srm_segments", "multiple_exposure", "instrumentation")
LABELS = ("low", "medium", "high")


@dataclass(frozen=True)
class Option:
    """One course of action with its expected loss on the primary metric and the risks it carries."""

    action: str  # "ship <variant>", "rollback", "keep running" or "iterate"
    expected_loss: float | None
    risks: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Recommendation:
    """What the report recommends (ship, rollback, keep running, iterate), with its confidence and reasons."""

    action: str  # ship | rollback | keep running | iterate
    variant: str | None
    confidence: float | None
    label: str
    reasons: list[str] = field(default_factory=list)
    options: list[Option] = field(default_factory=list)
    trade_offs: list[str] = field(default_factory=list)

    @property
    def headline(self) -> str:
        """The recommendation as one Markdown line."""
        what = f"ship `{self.variant}`" if self.action == "ship" else self.action
        conf = f"P = {self.confidence:.1%}" if self.confidence is not None and np.isfinite(self.confidence) else "n/a"
        extra = (
            f"; {len(self.trade_offs)} trade-off{'s' if len(self.trade_offs) > 1 else ''}" if self.trade_offs else ""
        )
        return f"Recommendation: **{what}** (confidence {self.label}, {conf}{extra})"


def _label(p: float | None) -> str:
    if p is None or not np.isfinite(p):
        return "low"
    return "high" if p >= 0.95 else "medium" if p >= 0.80 else "low"


def _cap(label: str, cap: str) -> str:
    return LABELS[min(LABELS.index(label), LABELS.index(cap))]


def _fmt(r) -> str:
    return f"{r.metric_id} {r.rel_lift:+.1%} in {r.variant}"


def integrity_failures(health: pd.DataFrame | None) -> list[str]:
    """Failing integrity verdicts of the monitoring feature (SRM, multiple exposure, instrumentation)."""
    if health is None or health.empty or not {"check_name", "status"} <= set(health.columns):
        return []
    failed = health[(health["check_name"].isin(INTEGRITY_CHECKS)) & (health["status"] == "fail")]
    return [f"integrity warning ({r.check_name}): {getattr(r, 'summary', 'failed')}" for r in failed.itertuples()]


def options(latest: pd.DataFrame, complete: bool, harm_rows: pd.DataFrame, tradeoff_rows: pd.DataFrame) -> list[Option]:
    """Ship each variant / rollback / keep running or iterate, each with its expected loss on the primary metric."""
    primary = latest[latest["metric_role"] == "primary"]
    out = []
    for r in primary.itertuples():
        risks = [
            f"{'guardrail breached' if h.metric_role == 'guardrail' else 'harms'}: {_fmt(h)}"
            for h in harm_rows[harm_rows["variant"] == r.variant].itertuples()
        ]
        risks += [
            f"secondary worse: {_fmt(t)} (P(worse) {1 - t.prob_beat_control:.0%})"
            for t in tradeoff_rows[tradeoff_rows["variant"] == r.variant].itertuples()
        ]
        loss = float(r.expected_loss) if pd.notna(r.expected_loss) else None
        out.append(Option(f"ship {r.variant}", loss, risks))
    if "expected_loss_control" in primary.columns and primary["expected_loss_control"].notna().any():
        keep_loss = float(primary["expected_loss_control"].max())
    else:
        keep_loss = None
    out.append(Option("rollback", keep_loss, ["forgoes the best variant's expected gain"] if keep_loss else []))
    out.append(
        Option(
            "iterate" if complete else "keep running",
            None,
            ["the planned horizon is reached: more data will not change much"]
            if complete
            else ["delays the decision; users keep seeing the variants"],
        )
    )
    return out


def effect_notes(novelty: pd.DataFrame | None, interaction: pd.DataFrame | None) -> list[str]:
    """Lines for detected novelty and interaction effects (the checks' `flag` column, Bonferroni-adjusted)."""
    notes = []
    if novelty is not None and not novelty.empty and "flag" in novelty.columns:
        for r in novelty[novelty["flag"]].itertuples():
            notes.append(
                f"novelty check: {r.variant}'s lift changes with time since exposure, early {r.lift_early:+.1%} vs "
                f"late {r.lift_late:+.1%} (p adj {r.p_value_adjusted:.2g}): the long-run effect may differ"
            )
    if interaction is not None and not interaction.empty and "flag" in interaction.columns:
        for r in interaction[interaction["flag"]].itertuples():
            notes.append(
                f"interaction: {r.variant}'s lift is {r.lift_control:+.1%} among {r.other_experiment_id}'s control vs "
                f"{r.lift_treatment:+.1%} among its treatment (p adj {r.p_value_adjusted:.2g})"
            )
    return notes


def recommend(
    experiment: Experiment,
    latest: pd.DataFrame,
    health: pd.DataFrame | None = None,
    min_units_per_arm: int = decisions.MIN_UNITS_PER_ARM,
    novelty: pd.DataFrame | None = None,
    interaction: pd.DataFrame | None = None,
) -> Recommendation:
    """See the module docstring. `latest`: the experiment's experiment_results rows at its latest analysis date;
    `health`: its latest monitoring.health_findings (integrity failures lower the confidence); `novelty`/`interaction`:
    the frames of analysis.heterogeneity's checks (a detected effect is named and caps the confidence at medium)."""
    integrity = integrity_failures(health)
    effects = effect_notes(novelty, interaction)
    if latest.empty:
        return Recommendation("keep running", None, None, "low", ["no results yet", *integrity])
    as_of = pd.Timestamp(latest["analysis_date"].max()).date()
    complete = as_of >= experiment.end_date
    basis = (
        "fixed-horizon test (planned end reached)"
        if complete
        else f"always-valid sequential test (planned end {experiment.end_date})"
    )
    reasons = [f"judged with the {basis} on data through {as_of}"]
    primary = latest[latest["metric_role"] == "primary"]
    sig = decisions.significant(primary, complete) & primary["rel_lift"].notna()
    good = decisions.good_direction(primary)
    winners = primary[sig & good]
    losers = pd.concat([primary[sig & ~good], decisions.primary_harms(latest, min_units_per_arm)]).drop_duplicates(
        ["metric_id", "variant"]
    )
    breaches = decisions.guardrail_breaches(latest, min_units_per_arm)
    for r in breaches.itertuples():
        reasons.append(
            f"guardrail {r.metric_id} breached by {r.variant}: {r.rel_lift:+.1%} (tolerance {r.harm_margin:.0%})"
        )
    for r in losers.itertuples():
        reasons.append(f"primary {r.metric_id} significantly worse in {r.variant}: {r.rel_lift:+.1%}")
    significant_worse, likely_worse = decisions.trade_offs(latest, complete)
    harm_rows = pd.concat([breaches, losers])
    opts = options(latest, complete, harm_rows, pd.concat([significant_worse, likely_worse]))
    clean = winners[~winners["variant"].isin(set(harm_rows["variant"]))]
    if not clean.empty:
        best = (
            clean.assign(_p=clean["prob_beat_control"].fillna(0), _l=clean["rel_lift"].abs())
            .sort_values(["_p", "_l"])
            .iloc[-1]
        )
        reasons.insert(
            1,
            f"{best.variant} improves {best.metric_id} by {best.rel_lift:+.1%} "
            f"(CI {best.rel_lift_ci_low:+.1%} to {best.rel_lift_ci_high:+.1%}) with no guardrail breached",
        )
        label = _label(best.prob_beat_control)
        trade = [
            f"trade-off: {_fmt(t)} is significantly worse"
            for t in significant_worse[significant_worse["variant"] == best.variant].itertuples()
        ]
        risks = [
            f"risk: {_fmt(t)}, P(worse) {1 - t.prob_beat_control:.0%} (not significant after correction)"
            for t in likely_worse[likely_worse["variant"] == best.variant].itertuples()
        ]
        label = _cap(label, "low") if trade else _cap(label, "medium") if risks or effects else label
        label = _cap(label, "low") if integrity else label
        return Recommendation(
            "ship",
            str(best.variant),
            float(best.prob_beat_control),
            label,
            reasons + trade + risks + effects + integrity,
            opts,
            trade + risks,
        )
    if not harm_rows.empty:
        worst = [1.0 - p for p in harm_rows["prob_beat_control"] if pd.notna(p)]
        conf = float(max(worst)) if worst else None
        label = _cap(_label(conf), "low") if integrity else _label(conf)
        return Recommendation("rollback", None, conf, label, reasons + effects + integrity, opts)
    best_p = float(np.nanmax(primary["prob_beat_control"])) if primary["prob_beat_control"].notna().any() else None
    label = _cap(_label(best_p), "low") if integrity else _label(best_p)
    if not complete:
        reasons.append(f"no variant is significantly different yet; keep running until {experiment.end_date}")
        return Recommendation("keep running", None, best_p, label, reasons + effects + integrity, opts)
    reasons.append("no variant is significantly different at the planned horizon: inconclusive")
    return Recommendation("iterate", None, best_p, label, reasons + effects + integrity, opts)


PROJECTION_ASSUMPTIONS = (
    "the variant is rolled out to 100% of the experiment's audience on its surface",
    "new exposed users keep arriving at the rate observed during the experiment (analysed units ÷ exposure days)",
    "the per-user effect stays at the measured level for a year (no novelty decay, no seasonality)",
    "no interaction with other launches; the CI bounds give the range, and winners are typically overestimated "
    "(winner's curse)",
)


def projection(primary_latest: pd.DataFrame, daily_units: float | None, days: int = 365) -> pd.DataFrame:
    """Incremental primary-metric units over `days` = abs_effect × daily new exposed units × days (with CI bounds)."""
    if primary_latest.empty or not daily_units:
        return pd.DataFrame()
    scale = daily_units * days
    return pd.DataFrame(
        {
            "variant": primary_latest["variant"].to_numpy(),
            "metric_id": primary_latest["metric_id"].to_numpy(),
            "rel_lift": primary_latest["rel_lift"].to_numpy(),
            "per_user_effect": primary_latest["abs_effect"].to_numpy(),
            "users_per_year": round(scale),
            "projected": primary_latest["abs_effect"].to_numpy() * scale,
            "projected_low": primary_latest["abs_ci_low"].to_numpy() * scale,
            "projected_high": primary_latest["abs_ci_high"].to_numpy() * scale,
        }
    )


def data_through(results: pd.DataFrame) -> dt.date | None:
    return pd.Timestamp(results["analysis_date"].max()).date() if not results.empty else None
