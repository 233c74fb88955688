"""Is a relative lift different in two groups? Novelty (early vs late, the same units) and interactions (disjoint
units).

For group g ∈ {1, 2}, l_g = m_v,g/m_c,g − 1 with per-arm means and variances from :func:`frequentist.estimate`.
By the delta method with gradients ∇l_g = (∂/∂m_c, ∂/∂m_v) = (−m_v,g/m_c,g², 1/m_c,g):

    Var(l₁ − l₂) = Var(l₁) + Var(l₂) − 2·Cov(l₁, l₂)
    Cov(l₁, l₂)  = ∂l₁/∂m_c,1 · ∂l₂/∂m_c,2 · Cov(m_c,1, m_c,2) + ∂l₁/∂m_v,1 · ∂l₂/∂m_v,2 · Cov(m_v,1, m_v,2)

(arms are independent; within an arm the two groups' means covary when the same units are in both, as for the early
and late periods of a novelty check, see :func:`paired_mean_covariance`). z = (l₁ − l₂)/SE, two-sided normal p.
Ignoring a positive within-unit covariance overstates the SE (a conservative test with little power).
Source: Casella & Berger (2002) §5.5.4 (multivariate delta method); Kohavi, Tang & Xu (2020) ch. 23 (novelty).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ._util import FloatArray, StrArray, join_reasons, reasons, two_sided_pvalue
from .arms import ArmStats
from .effect import relative_effect
from .frequentist import Kind, estimate


@dataclass(frozen=True)
class LiftDifference:
    """l₁, l₂, their difference, its standard error, z and the two-sided p-value, row-wise."""

    lift_1: FloatArray
    lift_2: FloatArray
    difference: FloatArray
    se: FloatArray
    statistic: FloatArray
    p_value: FloatArray
    reason: StrArray


def paired_mean_covariance(
    arm_1: ArmStats,
    arm_2: ArmStats,
    kind: Kind,
    sum_cross: ArrayLike,
    sum_cross_num_den: ArrayLike | None = None,
    sum_cross_den_num: ArrayLike | None = None,
    sum_cross_den: ArrayLike | None = None,
) -> FloatArray:
    """Cov(m₁, m₂) of one arm's means in two periods measured on the same n units.

    proportion/mean: Cov(ȳ₁, ȳ₂) = S₁₂/(n·(n − ddof)), S₁₂ = Σy₁y₂ − Σy₁Σy₂/n (ddof 0 for proportions, 1 for means,
    as in the variances of :func:`frequentist.arm_mean_and_variance`).
    ratio: r_g = Σy_g/Σd_g, Cov(r₁, r₂) ≈ Cov(y₁ − r₁d₁, y₂ − r₂d₂)/(n·d̄₁·d̄₂) with sample covariances from the cross
    sums Σy₁y₂, Σy₁d₂, Σd₁y₂, Σd₁d₂ (Deng, Knoblich & Lu 2018, delta method for ratios).
    """
    n = arm_1.n
    ddof = 0.0 if kind == "proportion" else 1.0
    with np.errstate(all="ignore"):

        def s(a: ArrayLike, b: ArrayLike, cross: ArrayLike) -> FloatArray:
            return (np.asarray(cross, dtype=np.float64) - np.asarray(a) * np.asarray(b) / n) / (n - ddof)

        if kind != "ratio":
            return np.where(n >= 2, s(arm_1.sum, arm_2.sum, sum_cross) / n, np.nan)
        r1, r2 = arm_1.sum / arm_1.sum_den, arm_2.sum / arm_2.sum_den
        cov_units = (
            s(arm_1.sum, arm_2.sum, sum_cross)
            - r2 * s(arm_1.sum, arm_2.sum_den, sum_cross_num_den)
            - r1 * s(arm_1.sum_den, arm_2.sum, sum_cross_den_num)
            + r1 * r2 * s(arm_1.sum_den, arm_2.sum_den, sum_cross_den)
        )
        return np.where(n >= 2, cov_units / (n * (arm_1.sum_den / n) * (arm_2.sum_den / n)), np.nan)


def compare_lift_difference(
    control_1: ArmStats,
    variant_1: ArmStats,
    control_2: ArmStats,
    variant_2: ArmStats,
    *,
    kind: Kind,
    cov_control: ArrayLike = 0.0,
    cov_variant: ArrayLike = 0.0,
) -> LiftDifference:
    """Test l₁ = l₂ (see the module docstring). ``cov_*`` = Cov of the arm's means across the two groups (0 when
    the groups hold different units)."""
    e1, e2 = estimate(control_1, variant_1, kind), estimate(control_2, variant_2, kind)
    r1, r2 = relative_effect(e1, "delta"), relative_effect(e2, "delta")
    cc, cv = np.asarray(cov_control, dtype=np.float64), np.asarray(cov_variant, dtype=np.float64)
    with np.errstate(all="ignore"):
        grad_c1, grad_v1 = -e1.mean_variant / e1.mean_control**2, 1.0 / e1.mean_control
        grad_c2, grad_v2 = -e2.mean_variant / e2.mean_control**2, 1.0 / e2.mean_control
        cov = grad_c1 * grad_c2 * cc + grad_v1 * grad_v2 * cv
        var = r1.se**2 + r2.se**2 - 2.0 * cov
        se = np.sqrt(np.where(var > 0, var, np.nan))
        diff = r1.lift - r2.lift
        z = diff / se
    shape = np.shape(z)
    why = join_reasons(
        np.broadcast_to(join_reasons(e1.reason, r1.reason), shape),
        np.broadcast_to(join_reasons(e2.reason, r2.reason), shape),
        reasons(shape, (~(var > 0) & ~np.isnan(var), "zero variance of the lift difference")),
    )
    return LiftDifference(r1.lift, r2.lift, diff, se, z, two_sided_pvalue(z, np.inf), why)
