"""Per-arm moments CUPED needs: the metric's and the covariate's arm means, their variances and covariance.

Means and proportions adjust ȳ with the pre-period mean x̄ (Deng, Xu, Kohavi & Walker 2013). Ratio metrics Σy/Σd
adjust R = Σy/Σd with the pre-period ratio R_x = Σx/Σw of the same metric (x the pre-period numerator, w the
pre-period denominator), both linearised by the delta method (GrowthBook "CUPED technical details", ratio metrics;
tea-tasting ``RatioOfMeans(numer_covariate=, denom_covariate=)``; Deng, Knoblich & Lu 2018 for the delta method).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._util import FloatArray
from .arms import ArmStats


@dataclass(frozen=True)
class CovariateMoments:
    """One arm's moments, row-wise.

    ``mean_x`` is the covariate's arm estimate (x̄, or R_x for ratios); ``var_y``, ``var_x``, ``cov_xy`` are the
    variances of the arm estimates and their covariance (per-unit moments ÷ n); ``ss_xx``, ``ss_xy`` the centred
    sums (per-unit moments × (n − ddof)) whose pooled quotient is θ. ``missing`` marks rows without usable
    covariate sums.
    """

    mean_x: FloatArray
    var_y: FloatArray
    var_x: FloatArray
    cov_xy: FloatArray
    ss_xx: FloatArray
    ss_xy: FloatArray
    missing: FloatArray


def _not_finite(*values: FloatArray | None) -> FloatArray:
    out = np.zeros((), dtype=bool)
    for v in values:
        out = out | ~np.isfinite(v)
    return out


def mean_moments(arm: ArmStats, ddof: float) -> CovariateMoments:
    """Moments of ȳ and x̄: S_yy = Σ(y − ȳ)², S_xx, S_xy centred sums; Var(ȳ) = S_yy/(n − ddof)/n, etc."""
    n = arm.n
    with np.errstate(all="ignore"):
        s_yy = np.where(n > 0, np.maximum(arm.sum_sq - arm.sum**2 / n, 0.0), 0.0)
        s_xx = np.where(n > 0, np.maximum(arm.sum_x_sq - arm.sum_x**2 / n, 0.0), 0.0)
        s_xy = np.where(n > 0, arm.sum_xy - arm.sum_x * arm.sum / n, 0.0)
        per_mean = 1.0 / ((n - ddof) * n)
        return CovariateMoments(
            mean_x=arm.sum_x / n,
            var_y=s_yy * per_mean,
            var_x=s_xx * per_mean,
            cov_xy=s_xy * per_mean,
            ss_xx=s_xx,
            ss_xy=s_xy,
            missing=_not_finite(arm.sum_x, arm.sum_x_sq, arm.sum_xy),
        )


def ratio_moments(arm: ArmStats) -> CovariateMoments:
    """Delta-method moments of R = Σy/Σd and R_x = Σx/Σw (per-unit covariances c(·,·) with ddof 1).

    Linearised unit values ℓ = (y − R d)/d̄ and ℓ_x = (x − R_x w)/w̄ give

        Var(R)      ≈ [c(y,y) − 2R c(y,d) + R² c(d,d)] / (n d̄²)
        Var(R_x)    ≈ [c(x,x) − 2R_x c(x,w) + R_x² c(w,w)] / (n w̄²)
        Cov(R, R_x) ≈ [c(y,x) − R_x c(y,w) − R c(d,x) + R R_x c(d,w)] / (n d̄ w̄)

    and the centred sums of ℓ, ℓ_x are (n − 1) × those per-unit moments, so the pooled θ is the ℓ_x slope of
    OLS ℓ ~ 1 + treatment + ℓ_x. Source: Deng, Knoblich & Lu (2018) KDD eq. 3 (delta method); GrowthBook
    "CUPED technical details" (ratio metric); tea-tasting ``Aggregates.ratio_var`` / ``ratio_cov``.
    """
    n = arm.n
    with np.errstate(all="ignore"):

        def c(s_ab: FloatArray, s_a: FloatArray, s_b: FloatArray) -> FloatArray:
            return (s_ab - s_a * s_b / n) / (n - 1.0)

        r, r_x = arm.sum / arm.sum_den, arm.sum_x / arm.sum_w
        d_bar, w_bar = arm.sum_den / n, arm.sum_w / n
        var_l = c(arm.sum_sq, arm.sum, arm.sum) - 2 * r * c(arm.sum_num_den, arm.sum, arm.sum_den)
        var_l = np.maximum(var_l + r * r * c(arm.sum_den_sq, arm.sum_den, arm.sum_den), 0.0) / d_bar**2
        var_lx = c(arm.sum_x_sq, arm.sum_x, arm.sum_x) - 2 * r_x * c(arm.sum_xw, arm.sum_x, arm.sum_w)
        var_lx = np.maximum(var_lx + r_x * r_x * c(arm.sum_w_sq, arm.sum_w, arm.sum_w), 0.0) / w_bar**2
        cov = c(arm.sum_xy, arm.sum, arm.sum_x) - r_x * c(arm.sum_wy, arm.sum, arm.sum_w)
        cov = (cov - r * c(arm.sum_xd, arm.sum_den, arm.sum_x) + r * r_x * c(arm.sum_wd, arm.sum_den, arm.sum_w)) / (
            d_bar * w_bar
        )
        missing = _not_finite(arm.sum_x, arm.sum_x_sq, arm.sum_xy, arm.sum_w, arm.sum_w_sq)
        missing = missing | _not_finite(arm.sum_xw, arm.sum_xd, arm.sum_wy, arm.sum_wd) | (arm.sum_w == 0)
        usable = (n >= 2) & ~missing & np.isfinite(var_l) & np.isfinite(cov)
        return CovariateMoments(
            mean_x=r_x,
            var_y=var_l / n,
            var_x=np.where(usable, var_lx / n, 0.0),
            cov_xy=np.where(usable, cov / n, 0.0),
            ss_xx=np.where(usable, var_lx * (n - 1.0), 0.0),
            ss_xy=np.where(usable, cov * (n - 1.0), 0.0),
            missing=missing,
        )


def expected_variance_reduction(arm: ArmStats, kind: str) -> FloatArray:
    """ρ² = Cov(m̂, x̂)²/(Var(m̂)·Var(x̂)) of one arm's moments: the share of variance CUPED removes, to plan with.

    ``kind`` "ratio" correlates the linearised ratio with the pre-period ratio (:func:`ratio_moments`); other
    kinds ȳ with x̄. 0 where the covariate is constant; NaN where the arm has no usable covariate or the metric no
    variance. Source: Deng, Xu, Kohavi &
    Walker (2013) §3.2: Var(Y_cv) = Var(Y)(1 − ρ²).
    """
    mom = ratio_moments(arm) if kind == "ratio" else mean_moments(arm, 0.0 if kind == "proportion" else 1.0)
    with np.errstate(all="ignore"):
        rho2 = mom.cov_xy**2 / (mom.var_y * mom.var_x)
    rho2 = np.where(mom.var_x > 0, np.minimum(rho2, 1.0), 0.0)  # a constant covariate removes nothing
    return np.where(~mom.missing & (mom.var_y > 0), rho2, np.nan)
