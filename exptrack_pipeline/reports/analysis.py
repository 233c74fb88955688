"""What a report concludes, computed from frames (pure; every test goes through `exptrack_pipeline.stats`).

Recommendation (latest analysis date; "significant" = fixed-horizon `is_significant` once the planned end date
is reached, else the always-valid `seq_is_significant`, which is safe to read every day):
  ship V      — V's primary metric is significantly better and no guardrail of V is breached
                (breach = significantly worse in the guardrail's bad direction by more than `max_relative_harm`);
                among several such variants, the one with the highest P(beat control).
  rollback    — otherwise, when some variant's primary metric is significantly worse or a guardrail is breached.
  keep running— otherwise, before the planned end date.
  iterate     — otherwise (the planned horizon is reached and nothing is detectable).
Confidence = the Bayesian P(the recommendation is right): P(beat control) of the shipped variant's primary
metric; for rollback, P(worse) of the breached metric; else P(beat control) of the best variant.
Label: high ≥ 0.95, medium ≥ 0.80, else low; low whenever the monitoring feature reports a failing integrity
check (SRM, multiple exposure, instrumentation), which the report lists (reports/experiment.py).

Novelty and interaction checks compare two relative lifts l₁, l₂ (each from `stats.compare` on sufficient
statistics): z = (l₁ − l₂)/√(se₁² + se₂²), two-sided normal p-value (`stats._util.two_sided_pvalue`),
Bonferroni over the family with `stats.adjust_pvalues`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from exptrack_pipeline.config import Experiment
from exptrack_pipeline.stats import ArmStats, adjust_pvalues, compare
from exptrack_pipeline.stats._util import two_sided_pvalue

STATS = ["n", "sum", "sum_sq", "sum_den", "sum_den_sq", "sum_num_den"]


@dataclass(frozen=True)
class Recommendation:
    action: str  # ship | rollback | keep running | iterate
    variant: str | None
    confidence: float | None
    label: str
    reasons: list[str] = field(default_factory=list)

    @property
    def headline(self) -> str:
        what = f"ship `{self.variant}`" if self.action == "ship" else self.action
        conf = f"P = {self.confidence:.1%}" if self.confidence is not None and np.isfinite(self.confidence) else "n/a"
        return f"Recommendation: **{what}** (confidence {self.label}, {conf})"


def _label(p: float | None) -> str:
    if p is None or not np.isfinite(p):
        return "low"
    return "high" if p >= 0.95 else "medium" if p >= 0.80 else "low"


def _good(row) -> bool:
    return bool((row.rel_lift > 0) == (row.direction == "increase"))


def recommend(experiment: Experiment, latest: pd.DataFrame) -> Recommendation:
    """See the module docstring. `latest`: the experiment's experiment_results rows at its latest analysis date."""
    if latest.empty:
        return Recommendation("keep running", None, None, "low", ["no results yet"])
    as_of = pd.Timestamp(latest["analysis_date"].max()).date()
    complete = as_of >= experiment.end_date
    sig_col = "is_significant" if complete else "seq_is_significant"
    basis = "fixed-horizon test (planned end reached)" if complete else f"always-valid sequential test (planned end {experiment.end_date})"
    harm = {g.metric: g.max_relative_harm for g in experiment.guardrail_metrics}
    reasons = [f"judged with the {basis} on data through {as_of}"]
    winners, losers, breaches = [], [], []
    primary = latest[latest["metric_role"] == "primary"]
    for r in primary.itertuples():
        if bool(getattr(r, sig_col)) and pd.notna(r.rel_lift):
            (winners if _good(r) else losers).append(r)
    for r in latest[latest["metric_role"] == "guardrail"].itertuples():
        if bool(getattr(r, sig_col)) and pd.notna(r.rel_lift) and not _good(r) and abs(r.rel_lift) > harm.get(r.metric_id, 0.0):
            breaches.append(r)
            reasons.append(f"guardrail {r.metric_id} breached by {r.variant}: {r.rel_lift:+.1%} (tolerance {harm.get(r.metric_id, 0.0):.0%})")
    breached = {r.variant for r in breaches}
    clean = [r for r in winners if r.variant not in breached]
    for r in losers:
        reasons.append(f"primary {r.metric_id} significantly worse in {r.variant}: {r.rel_lift:+.1%}")
    if clean:
        best = max(clean, key=lambda r: (np.nan_to_num(r.prob_beat_control), abs(r.rel_lift)))
        reasons.insert(1, f"{best.variant} improves {best.metric_id} by {best.rel_lift:+.1%} "
                       f"(CI {best.rel_lift_ci_low:+.1%} to {best.rel_lift_ci_high:+.1%}) with no guardrail breached")
        return Recommendation("ship", best.variant, float(best.prob_beat_control), _label(best.prob_beat_control), reasons)
    if breaches or losers:
        worst = [1.0 - r.prob_beat_control for r in breaches + losers if pd.notna(r.prob_beat_control)]
        conf = float(max(worst)) if worst else None
        return Recommendation("rollback", None, conf, _label(conf), reasons)
    best_p = float(np.nanmax(primary["prob_beat_control"])) if primary["prob_beat_control"].notna().any() else None
    if not complete:
        reasons.append(f"no variant is significantly different yet; keep running until {experiment.end_date}")
        return Recommendation("keep running", None, best_p, _label(best_p), reasons)
    reasons.append("no variant is significantly different at the planned horizon: inconclusive")
    return Recommendation("iterate", None, best_p, _label(best_p), reasons)


def _arm(frame: pd.DataFrame) -> ArmStats:
    return ArmStats(**{c: frame[c].to_numpy(dtype=float) for c in STATS})


def lift_difference(stats: pd.DataFrame, by: str, first: str, second: str, alpha: float) -> pd.DataFrame:
    """Per non-control variant (and per `other_experiment_id` when present): the lift within `by == first`
    and within `by == second`, their difference and its p-value (Bonferroni over the frame's comparisons).

    `stats`: sufficient statistics rows with metric_id, stat_kind, variant, is_control, `by` and STATS.
    """
    keys = [k for k in ("other_experiment_id",) if k in stats.columns]
    out = []
    for group_key, part in stats.groupby(keys + ["metric_id"], dropna=False, sort=True):
        kind = str(part["stat_kind"].iloc[0])
        control = part[part["is_control"]]
        for variant, rows in part[~part["is_control"]].groupby("variant", sort=True):
            lifts = {}
            for level in (first, second):
                c, v = control[control[by] == level], rows[rows[by] == level]
                if c.empty or v.empty:
                    lifts[level] = (np.nan, np.nan, 0, 0)
                    continue
                cmp = compare(_arm(c), _arm(v), kind=kind, alpha=alpha)
                lifts[level] = (float(cmp.rel_lift[0]), float(cmp.rel_se[0]), int(c["n"].iloc[0]), int(v["n"].iloc[0]))
            (l1, s1, nc1, nv1), (l2, s2, nc2, nv2) = lifts[first], lifts[second]
            with np.errstate(all="ignore"):
                z = (l1 - l2) / np.sqrt(s1**2 + s2**2)
            row = dict(zip(keys + ["metric_id"], group_key if isinstance(group_key, tuple) else (group_key,)))
            row |= {"variant": variant, f"lift_{first}": l1, f"lift_{second}": l2, "difference": l1 - l2,
                    f"n_{first}": nc1 + nv1, f"n_{second}": nc2 + nv2, "p_value": float(two_sided_pvalue(z, np.inf))}
            out.append(row)
    frame = pd.DataFrame(out)
    if frame.empty:
        return frame
    frame["p_value_adjusted"] = adjust_pvalues(frame["p_value"].to_numpy(), method="bonferroni")
    frame["flag"] = frame["p_value_adjusted"] < alpha
    return frame


def novelty_check(stats: pd.DataFrame, direction: str, alpha: float) -> tuple[pd.DataFrame, str]:
    """Early vs late days since exposure (see the dbt model lifecycle_novelty_stats): a lift that is significantly
    larger (in the good direction) early than late suggests a novelty effect; the reverse, a learning effect."""
    if stats.empty:
        return stats, "not applicable: the primary metric is a retention metric or no unit has two full periods yet"
    frame = lift_difference(stats, "period", "early", "late", alpha)
    if frame.empty:
        return frame, "not enough data"
    if frame["p_value"].isna().all():
        return frame, "cannot tell: the lift is undefined in one period (e.g. the metric happens only right after exposure)"
    sign = 1.0 if direction == "increase" else -1.0
    notes = []
    for r in frame.itertuples():
        if r.flag:
            kind = "novelty effect (the lift fades)" if sign * r.difference > 0 else "learning effect (the lift grows)"
            notes.append(f"{r.variant}: {kind}, early {r.lift_early:+.1%} vs late {r.lift_late:+.1%} (p adj {r.p_value_adjusted:.2g})")
    return frame, "; ".join(notes) if notes else "no evidence that the lift changes with time since exposure"


def interaction_check(stats: pd.DataFrame, alpha: float) -> tuple[pd.DataFrame, str]:
    """Lift of this experiment's primary metric among users in the other experiment's control vs its treatment."""
    if stats.empty:
        return stats, "no concurrent experiment shares users with this one"
    frame = lift_difference(stats, "other_arm", "control", "treatment", alpha)
    if frame.empty:
        return frame, "not enough shared users"
    flagged = frame[frame["flag"]]
    if flagged.empty:
        return frame, f"no interaction detected with {', '.join(sorted(frame['other_experiment_id'].unique()))}"
    return frame, "; ".join(
        f"{r.variant} interacts with {r.other_experiment_id}: lift {r.lift_control:+.1%} in its control vs "
        f"{r.lift_treatment:+.1%} in its treatment (p adj {r.p_value_adjusted:.2g})"
        for r in flagged.itertuples()
    )


PROJECTION_ASSUMPTIONS = (
    "the variant is rolled out to 100% of the experiment's audience on its surface",
    "new exposed users keep arriving at the rate observed during the experiment (analysed units ÷ exposure days)",
    "the per-user effect stays at the measured level for a year (no novelty decay, no seasonality)",
    "no interaction with other launches; the CI bounds give the range, and winners are typically overestimated (winner's curse)",
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
