"""Two-sided and one-sided hypotheses: p-values, critical values and one-sided confidence bounds.

``alternative`` is "two-sided" (H1: Δ ≠ 0), "greater" (H1: Δ > 0, variant above control) or "less" (H1: Δ < 0), per
row; internally a side 0, +1, −1. A one-sided test at level α has critical value q_{1−α} and p = P(T > side·stat);
its confidence set is a one-sided bound, Δ > Δ̂ − q_{1−α}·SE for "greater" (upper end +inf), so the bound excludes 0
exactly when p < α. Declared before the data (success_criteria.one_sided in the registry), never chosen after.
Source: Casella & Berger (2002) §8.3 and §9.2 (one-sided tests and the bounds that invert them).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import scipy.special as sc
from numpy.typing import ArrayLike, NDArray

from ._util import FloatArray, two_sided_pvalue, two_sided_quantile

Alternative = Literal["two-sided", "greater", "less"]
ALTERNATIVES: tuple[str, ...] = ("two-sided", "greater", "less")
_SIDE = {"two-sided": 0, "greater": 1, "less": -1}


def side_of(alternative: ArrayLike) -> NDArray[np.int64]:
    """0 / +1 / −1 for "two-sided" / "greater" / "less" (element-wise); unknown names raise ValueError."""
    names = np.asarray(alternative, dtype=str)
    unknown = sorted(set(np.unique(names)) - set(ALTERNATIVES))
    if unknown:
        raise ValueError(f"alternative must be one of {ALTERNATIVES}, got {unknown}")
    out = np.zeros(names.shape, dtype=np.int64)
    for name, side in _SIDE.items():
        out[names == name] = side
    return out


def pvalue(stat: ArrayLike, df: ArrayLike, side: ArrayLike) -> FloatArray:
    """Two-sided 2·P(T > |stat|), or one-sided P(T > side·stat), Student t with ``df`` (normal if inf)."""
    s = np.asarray(stat, dtype=np.float64)
    d = np.asarray(df, dtype=np.float64)
    sd = np.asarray(side, dtype=np.float64)
    with np.errstate(all="ignore"):
        one = sc.stdtr(np.where(d > 0, d, np.nan), -sd * s)
    return np.where(sd == 0, two_sided_pvalue(s, d), np.asarray(one, dtype=np.float64))


def quantile(alpha: ArrayLike, df: ArrayLike, side: ArrayLike) -> FloatArray:
    """Critical value: q_{1−α/2} two-sided, q_{1−α} one-sided (Student t with ``df``, normal if inf)."""
    a = np.asarray(alpha, dtype=np.float64)
    s = np.asarray(side)
    return np.where(s == 0, two_sided_quantile(a, df), two_sided_quantile(2.0 * a, df))


def open_ends(low: ArrayLike, high: ArrayLike, side: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Make an interval one-sided: "greater" keeps the lower bound (upper +inf), "less" the upper (lower −inf).

    NaN bounds stay NaN (an undefined interval is not made half-defined).
    """
    lo, hi, s = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64), np.asarray(side)
    return (
        np.where((s < 0) & ~np.isnan(lo), -np.inf, lo),
        np.where((s > 0) & ~np.isnan(hi), np.inf, hi),
    )
