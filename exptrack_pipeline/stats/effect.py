"""Point estimates per arm and the absolute / relative effect built from them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from ._util import FloatArray, StrArray, reasons

Relative = Literal["delta", "log"]


@dataclass(frozen=True)
class Estimate:
    """Arm means with the variance of each mean (squared standard error), row-wise.

    ``df`` is the Welch–Satterthwaite df for t tests and ``inf`` for z tests.
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

    @property
    def shape(self) -> tuple[int, ...]:
        return np.shape(self.mean_control)

    @property
    def abs_effect(self) -> FloatArray:
        return self.mean_variant - self.mean_control

    @property
    def abs_se(self) -> FloatArray:
        with np.errstate(all="ignore"):
            return np.sqrt(self.var_control + self.var_variant)


@dataclass(frozen=True)
class RelativeEffect:
    """Relative lift m_v/m_c − 1 and the standard error on the interval's scale.

    ``se`` is the delta-method SE of the lift (relative="delta") or of log(m_v/m_c)
    (relative="log").
    """

    lift: FloatArray
    se: FloatArray
    relative: Relative
    reason: StrArray

    def interval(self, halfwidth_multiplier: FloatArray) -> tuple[FloatArray, FloatArray]:
        """CI = lift ± q·se (delta) or exp(log(m_v/m_c) ± q·se) − 1 (log); NaN when se = 0."""
        q = np.where(self.se > 0, halfwidth_multiplier, np.nan)
        with np.errstate(all="ignore"):
            if self.relative == "delta":
                return self.lift - q * self.se, self.lift + q * self.se
            log_ratio = np.log1p(self.lift)
            return np.expm1(log_ratio - q * self.se), np.expm1(log_ratio + q * self.se)


def relative_effect(est: Estimate, relative: Relative) -> RelativeEffect:
    """Relative lift by the delta method (arms independent).

    delta: Var(m_v/m_c) ≈ Var(m_v)/m_c² + m_v² Var(m_c)/m_c⁴.
    log:   Var(log m_v − log m_c) ≈ Var(m_v)/m_v² + Var(m_c)/m_c²  (CI exponentiated).
    Source: Casella & Berger (2002) §5.5.4 (delta method); Kohavi, Tang & Xu (2020)
    "Trustworthy Online Controlled Experiments" ch. 18; GrowthBook statistics docs.
    """
    if relative not in ("delta", "log"):
        raise ValueError(f"relative must be 'delta' or 'log', got {relative!r}")
    mc, vc, mv, vv = est.mean_control, est.var_control, est.mean_variant, est.var_variant
    zero_control = mc == 0
    with np.errstate(all="ignore"):
        lift = np.where(zero_control, np.nan, mv / mc - 1.0)
        if relative == "delta":
            se = np.sqrt(vv / mc**2 + mv**2 * vc / mc**4)
            rule = (np.zeros(est.shape, dtype=bool), "")
        else:
            positive = (mc > 0) & (mv > 0)
            se = np.where(positive, np.sqrt(vv / mv**2 + vc / mc**2), np.nan)
            rule = (~positive & ~zero_control & ~np.isnan(mc * mv), "log lift needs positive means in both arms")
    se = np.where(zero_control, np.nan, se)
    variant_all_zero = (mv == 0) & (vv == 0) & (vc > 0) & ~zero_control
    reason = reasons(
        est.shape,
        (zero_control, "control mean is 0: relative lift undefined"),
        rule,
        (variant_all_zero, "variant mean and variance are 0: relative interval undefined"),
    )
    return RelativeEffect(lift=lift, se=se, relative=relative, reason=reason)
