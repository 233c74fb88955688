"""Point estimates per arm and the absolute / relative effect built from them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from ._util import FloatArray, StrArray, reasons

Relative = Literal["delta", "log", "fieller"]
RELATIVE_METHODS = ("delta", "log", "fieller")


@dataclass(frozen=True)
class Estimate:
    """Arm means with the variance of each mean (squared standard error), row-wise.

    ``df`` is the Welch–Satterthwaite df for t tests and ``inf`` for z tests. ``cov`` is
    Cov(m_c, m_v): 0 for independent arms, non-zero for CUPED (both adjusted means use the
    pooled covariate mean).
    """

    mean_control: FloatArray
    var_control: FloatArray
    mean_variant: FloatArray
    var_variant: FloatArray
    n_control: FloatArray
    n_variant: FloatArray
    df: FloatArray
    method: str | StrArray
    reason: StrArray
    cov: FloatArray | float = 0.0

    @property
    def shape(self) -> tuple[int, ...]:
        """Broadcast shape of the comparison."""
        return np.shape(self.mean_control)

    @property
    def abs_effect(self) -> FloatArray:
        """m_v − m_c."""
        return self.mean_variant - self.mean_control

    @property
    def abs_se(self) -> FloatArray:
        """SE(m_v − m_c) = √(Var(m_c) + Var(m_v) − 2 Cov(m_c, m_v))."""
        with np.errstate(all="ignore"):
            return np.sqrt(np.maximum(self.var_control + self.var_variant - 2.0 * self.cov, 0.0))


@dataclass(frozen=True)
class RelativeEffect:
    """Relative lift m_v/m_c − 1, the SE on the interval's scale, and the means behind it.

    ``se`` is the delta-method SE of the lift (relative="delta" and "fieller") or of
    log(m_v/m_c) (relative="log").
    """

    lift: FloatArray
    se: FloatArray
    relative: Relative
    reason: StrArray
    estimate: Estimate | None = None

    def interval(self, halfwidth_multiplier: ArrayLike) -> tuple[FloatArray, FloatArray]:
        """CI at multiplier q: lift ± q·se (delta), exp(log(m_v/m_c) ± q·se) − 1 (log), or
        Fieller's interval (fieller, :func:`fieller_interval`); NaN when se = 0."""
        q = np.where(self.se > 0, np.asarray(halfwidth_multiplier, dtype=np.float64), np.nan)
        with np.errstate(all="ignore"):
            if self.relative == "delta":
                return self.lift - q * self.se, self.lift + q * self.se
            if self.relative == "fieller":
                assert self.estimate is not None
                return fieller_interval(self.estimate, q)
            log_ratio = np.log1p(self.lift)
            return np.expm1(log_ratio - q * self.se), np.expm1(log_ratio + q * self.se)


def fieller_interval(est: Estimate, q: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Fieller's interval for the relative lift R − 1, R = μ_v/μ_c: the set of R the test of
    m_v − R·m_c = 0 does not reject at multiplier q,

        (m_v − R m_c)² ≤ q² (V_v − 2R C + R² V_c),   V = Var(m), C = Cov(m_c, m_v),

    i.e. a R² − 2 b R + c ≤ 0 with a = m_c² − q²V_c, b = m_v m_c − q²C, c = m_v² − q²V_v:
    R = (b ± √(b² − a c))/a. Bounded only when a > 0 (control mean distinguishable from 0 at
    that level); otherwise NaN (see :func:`relative_effect` for the reason).
    At R = 1 the inequality is the absolute test's, so the interval excludes 0 exactly when the
    absolute interval m_v − m_c ± q·SE does: p-value and relative interval always agree.
    Source: Fieller (1954) "Some problems in interval estimation", JRSS-B 16(2):175–185;
    Franz (2007) "Ratios: a short guide to confidence limits and proper use", arXiv:0710.2024.
    """
    mc, mv, vc, vv = est.mean_control, est.mean_variant, est.var_control, est.var_variant
    c_cv = np.asarray(est.cov, dtype=np.float64)
    q2 = np.asarray(q, dtype=np.float64) ** 2
    with np.errstate(all="ignore"):
        a = mc * mc - q2 * vc
        b = mv * mc - q2 * c_cv
        c = mv * mv - q2 * vv
        disc = np.sqrt(np.maximum(b * b - a * c, 0.0))
        bounded = a > 0
        low = np.where(bounded, (b - disc) / a - 1.0, np.nan)
        high = np.where(bounded, (b + disc) / a - 1.0, np.nan)
    return low, high


def fieller_unbounded(est: Estimate, q: ArrayLike) -> FloatArray:
    """True where Fieller's set at multiplier q is unbounded: m_c² ≤ q²·Var(m_c) (|z_control| ≤ q)."""
    with np.errstate(all="ignore"):
        return ~(est.mean_control**2 - np.asarray(q, dtype=np.float64) ** 2 * est.var_control > 0) & (
            est.var_control > 0
        )


def relative_effect(est: Estimate, relative: Relative) -> RelativeEffect:
    """Relative lift by the delta method (with the arms' covariance C, 0 unless CUPED).

    delta:   Var(m_v/m_c) ≈ Var(m_v)/m_c² + m_v² Var(m_c)/m_c⁴ − 2 m_v C/m_c³.
    log:     Var(log m_v − log m_c) ≈ Var(m_v)/m_v² + Var(m_c)/m_c² − 2C/(m_v m_c)  (CI exponentiated).
    fieller: ``se`` as delta; the interval by Fieller's theorem (:func:`fieller_interval`).
    A negative control mean makes a relative lift meaningless (its sign flips): NaN with a reason.
    Source: Casella & Berger (2002) §5.5.4 (delta method); Kohavi, Tang & Xu (2020)
    "Trustworthy Online Controlled Experiments" ch. 18; GrowthBook statistics docs.
    """
    if relative not in RELATIVE_METHODS:
        raise ValueError(f"relative must be one of {RELATIVE_METHODS}, got {relative!r}")
    mc, vc, mv, vv = est.mean_control, est.var_control, est.mean_variant, est.var_variant
    cov = np.asarray(est.cov, dtype=np.float64)
    zero_control = mc == 0
    negative_control = mc < 0
    undefined = zero_control | negative_control
    with np.errstate(all="ignore"):
        lift = np.where(undefined, np.nan, mv / mc - 1.0)
        if relative in ("delta", "fieller"):
            se = np.sqrt(np.maximum(vv / mc**2 + mv**2 * vc / mc**4 - 2.0 * mv * cov / mc**3, 0.0))
            rule = (np.zeros(est.shape, dtype=bool), "")
        else:
            positive = (mc > 0) & (mv > 0)
            se = np.where(positive, np.sqrt(np.maximum(vv / mv**2 + vc / mc**2 - 2.0 * cov / (mv * mc), 0.0)), np.nan)
            rule = (~positive & ~undefined & ~np.isnan(mc * mv), "log lift needs positive means in both arms")
    se = np.where(undefined, np.nan, se)
    variant_all_zero = (mv == 0) & (vv == 0) & (vc > 0) & ~undefined
    reason = reasons(
        est.shape,
        (zero_control, "control mean is 0: relative lift undefined"),
        (negative_control, "control mean is negative: relative lift undefined"),
        rule,
        (variant_all_zero, "variant mean and variance are 0: relative interval undefined"),
    )
    return RelativeEffect(lift=lift, se=se, relative=relative, reason=reason, estimate=est)


def unbounded_reason(est: Estimate, rel: RelativeEffect, q: ArrayLike) -> StrArray:
    """Reason for rows whose Fieller interval is unbounded at multiplier q (only for relative="fieller")."""
    if rel.relative != "fieller":
        return reasons(est.shape, (np.zeros(est.shape, dtype=bool), ""))
    flag = fieller_unbounded(est, q) & ~np.isnan(rel.lift)
    return reasons(
        np.broadcast_shapes(est.shape, np.shape(q)),
        (flag, "control mean not distinguishable from 0 at this level: relative interval unbounded (Fieller)"),
    )
