"""Bayesian summary under a normal approximation with a flat prior on the effect."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.special as sc
from numpy.typing import ArrayLike

from ._util import FloatArray, StrArray, join_reasons, reasons
from .arms import ArmStats
from .cuped import cuped_or_plain_estimate
from .effect import relative_effect
from .frequentist import Kind, estimate


@dataclass(frozen=True)
class BayesResult:
    """Posterior summary of the effect (relative lift or absolute difference), one entry per row.

    ``expected_loss`` is the risk of shipping the variant, E[max(0, −effect)];
    ``expected_loss_control`` the risk of keeping control, E[max(0, effect)].
    """

    effect: FloatArray
    se: FloatArray
    prob_beat_control: FloatArray
    expected_loss: FloatArray
    expected_loss_control: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    reason: StrArray


def bayesian_summary(
    control: ArmStats,
    variant: ArmStats,
    *,
    kind: Kind,
    relative: bool = True,
    alpha: ArrayLike = 0.05,
    cuped: bool = False,
) -> BayesResult:
    """Normal-approximation posterior: effect ~ N(Δ̂, SE²) under a flat prior.

    Δ̂, SE: relative lift with its delta-method SE (``relative=True``, GrowthBook's default) or
    the absolute difference, from the same estimates as :func:`compare` / :func:`compare_cuped`.
        P(variant beats control) = Φ(Δ̂/SE)
        risk(variant) = E[max(0, −Δ)] = SE·φ(Δ̂/SE) − Δ̂·Φ(−Δ̂/SE)
        risk(control) = E[max(0, Δ)]  = SE·φ(Δ̂/SE) + Δ̂·Φ(Δ̂/SE)
        credible interval = Δ̂ ± z_{1−α/2}·SE
    For "lower is better" metrics use 1 − prob_beat_control and swap the two risks.
    Source: GrowthBook docs "Bayesian statistics" (normal approximation of the lift, flat
    prior by default); Stucchio (2015) "Bayesian A/B Testing at VWO" (expected loss).
    """
    est = cuped_or_plain_estimate(control, variant, kind)[0] if cuped else estimate(control, variant, kind)
    if relative:
        rel = relative_effect(est, "delta")
        effect, se, reason = rel.lift, rel.se, join_reasons(est.reason, rel.reason)
    else:
        effect, se, reason = est.abs_effect, est.abs_se, est.reason
    a = np.asarray(alpha, dtype=np.float64)
    shape = np.broadcast_shapes(np.shape(effect), a.shape)
    ok = se > 0
    with np.errstate(all="ignore"):
        z = np.where(ok, effect / se, np.nan)
        density = np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi)
        prob = sc.ndtr(z)
        loss_variant = se * density - effect * sc.ndtr(-z)
        loss_control = se * density + effect * sc.ndtr(z)
        q = sc.ndtri(1.0 - a / 2.0)
        low, high = effect - q * se, effect + q * se
    degenerate = reasons(shape, (~ok & ~np.isnan(se), "zero standard error: posterior degenerate"))

    def b(x: ArrayLike) -> FloatArray:
        return np.array(np.broadcast_to(np.where(ok, x, np.nan), shape), dtype=np.float64)

    return BayesResult(
        effect=np.array(np.broadcast_to(effect, shape), dtype=np.float64),
        se=np.array(np.broadcast_to(se, shape), dtype=np.float64),
        prob_beat_control=b(prob),
        expected_loss=b(np.maximum(loss_variant, 0.0)),
        expected_loss_control=b(np.maximum(loss_control, 0.0)),
        ci_low=b(low),
        ci_high=b(high),
        reason=join_reasons(np.broadcast_to(reason, shape), degenerate),
    )
