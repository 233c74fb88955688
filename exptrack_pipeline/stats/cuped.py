"""CUPED: variance reduction with a pre-exposure covariate (Deng, Xu, Kohavi & Walker 2013)."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np
from numpy.typing import ArrayLike

from ._util import FloatArray, join_reasons, reasons
from .arms import ArmStats
from .effect import Estimate, Relative
from .frequentist import (
    METHODS,
    Comparison,
    Kind,
    arm_reasons,
    compare,
    comparison_from_estimate,
    estimate,
    welch_df,
    zero_variance_reason,
)


@dataclass(frozen=True)
class CupedComparison(Comparison):
    """:class:`Comparison` plus the pooled θ and the variance reduction 1 − Var_adj/Var_unadj."""

    theta: FloatArray
    variance_reduction: FloatArray


def _centred(arm: ArmStats) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Centred sums S_yy = Σ(y−ȳ)², S_xx = Σ(x−x̄)², S_xy = Σ(x−x̄)(y−ȳ) of one arm."""
    n = arm.n
    with np.errstate(all="ignore"):
        s_yy = np.maximum(arm.sum_sq - arm.sum**2 / n, 0.0)
        s_xx = np.maximum(arm.sum_x_sq - arm.sum_x**2 / n, 0.0)
        s_xy = arm.sum_xy - arm.sum_x * arm.sum / n
    return np.where(n > 0, s_yy, 0.0), np.where(n > 0, s_xx, 0.0), np.where(n > 0, s_xy, 0.0)


def cuped_estimate(control: ArmStats, variant: ArmStats, kind: Kind) -> tuple[Estimate, FloatArray]:
    """CUPED-adjusted per-arm estimates and θ.

    θ = (S_xy,c + S_xy,v)/(S_xx,c + S_xx,v): the within-arm pooled Cov(X,Y)/Var(X), i.e. the
    x slope of the OLS fit y ~ 1 + treatment + x, so Δ_adj equals that fit's treatment coefficient.
    Adjusted arm mean: ȳ_a − θ(x̄_a − x̄), x̄ = pooled covariate mean (Deng et al. 2013, eq. 3).
    Var(adjusted mean) = (s_y² − 2θ s_xy + θ² s_x²)/n_a, per-arm moments with the same ddof as
    the unadjusted test (0 for proportions, 1 for means); θ is treated as known.
    Rows with zero pooled covariate variance, or NaN covariate sums, use θ = 0 (the unadjusted
    estimate, method without "+cuped"); θ is reported as 0 and NaN for them respectively.
    """
    shape = np.broadcast_shapes(control.shape, variant.shape)
    yy_c, xx_c, xy_c = _centred(control)
    yy_v, xx_v, xy_v = _centred(variant)
    n_c, n_v = control.n, variant.n
    missing = np.zeros(shape, dtype=bool)
    for a in (control, variant):
        missing = missing | np.isnan(a.sum_x) | np.isnan(a.sum_x_sq) | np.isnan(a.sum_xy)
    sxx = xx_c + xx_v
    use = (sxx > 0) & ~missing
    with np.errstate(all="ignore"):
        theta = np.where(use, (xy_c + xy_v) / sxx, 0.0)
        x_bar = (control.sum_x + variant.sum_x) / (n_c + n_v)
        ddof = 0.0 if kind == "proportion" else 1.0

        def arm(
            n: FloatArray, s: FloatArray, sx: FloatArray, yy: FloatArray, xx: FloatArray, xy: FloatArray
        ) -> tuple[FloatArray, FloatArray]:
            mean = s / n - np.where(use, theta * (sx / n - x_bar), 0.0)
            var_unit = np.maximum(yy - np.where(use, 2.0 * theta * xy - theta**2 * xx, 0.0), 0.0) / (n - ddof)
            return np.where(n > 0, mean, np.nan), np.where(n >= 2, var_unit / n, np.nan)

        mc, vc = arm(n_c, control.sum, control.sum_x, yy_c, xx_c, xy_c)
        mv, vv = arm(n_v, variant.sum, variant.sum_x, yy_v, xx_v, xy_v)
    df = welch_df(vc, n_c, vv, n_v) if kind == "mean" else np.full(shape, np.inf)
    reason = join_reasons(
        arm_reasons(control, variant, kind, shape),
        zero_variance_reason(vc, vv, shape),
        reasons(
            shape,
            (missing, "no covariate: CUPED not applied"),
            (~use & ~missing, "zero covariate variance: CUPED not applied"),
        ),
    )
    method = np.where(use, METHODS[kind] + "+cuped", METHODS[kind])
    theta = np.where(missing, np.nan, theta)
    mc, vc, mv, vv, n_c, n_v, df, theta, method = np.broadcast_arrays(mc, vc, mv, vv, n_c, n_v, df, theta, method)
    return Estimate(mc, vc, mv, vv, n_c, n_v, df, method, reason), theta


def compare_cuped(
    control: ArmStats,
    variant: ArmStats,
    *,
    kind: Kind,
    alpha: ArrayLike = 0.05,
    relative: Relative = "delta",
) -> CupedComparison:
    """CUPED-adjusted comparison: Y_adj = Y − θ(X − X̄) with θ pooled over both arms.

    Δ_adj = (ȳ_v − ȳ_c) − θ(x̄_v − x̄_c); relative lift by the delta method on the adjusted
    means (GrowthBook "CUPED" docs; Eppo "CUPED++" docs). Tests and intervals are those of
    :func:`compare` applied to the adjusted means and variances.
    variance_reduction = 1 − Var(Δ_adj)/Var(Δ), ≈ ρ² for covariate correlation ρ.
    Source: Deng, Xu, Kohavi & Walker (2013) "Improving the Sensitivity of Online Controlled
    Experiments by Utilizing Pre-Experiment Data", WSDM.

    Ratio metrics and rows without a covariate (None or NaN sums) are returned unadjusted with
    θ = NaN; rows with zero covariate variance with θ = 0; both with a reason.
    """
    plain = compare(control, variant, kind=kind, alpha=alpha, relative=relative)
    est, theta = cuped_or_plain_estimate(control, variant, kind)
    adjusted = comparison_from_estimate(est, alpha, relative, est.method)
    shape = adjusted.p_value.shape
    with np.errstate(all="ignore"):
        reduction = 1.0 - adjusted.abs_se**2 / plain.abs_se**2
    values = {f.name: getattr(adjusted, f.name) for f in fields(Comparison)}
    return CupedComparison(
        **values,
        theta=np.array(np.broadcast_to(theta, shape)),
        variance_reduction=np.array(np.broadcast_to(reduction, shape)),
    )


def cuped_or_plain_estimate(control: ArmStats, variant: ArmStats, kind: Kind) -> tuple[Estimate, FloatArray]:
    """:func:`cuped_estimate`, or the unadjusted estimate (θ = NaN, with a reason) for ratio
    metrics and arms without covariate sums."""
    if kind != "ratio" and control.has_covariate and variant.has_covariate:
        return cuped_estimate(control, variant, kind)
    est = estimate(control, variant, kind)
    why = "CUPED not supported for ratio metrics" if kind == "ratio" else "no covariate: CUPED not applied"
    flag = reasons(est.shape, (np.ones(est.shape, dtype=bool), why))
    return replace(est, reason=join_reasons(est.reason, flag)), np.full(est.shape, np.nan)
