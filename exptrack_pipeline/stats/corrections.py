"""Multiple-comparison corrections within families of p-values."""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from ._util import FloatArray, StrArray, reasons

Correction = Literal["bonferroni", "holm", "bh"]


def bonferroni_alpha(alpha: ArrayLike, m: ArrayLike) -> FloatArray:
    """Per-comparison level α/m; a CI at level 1 − α/m gives family-wise coverage ≥ 1 − α.

    Source: Dunn (1961) "Multiple comparisons among means", JASA 56.
    """
    with np.errstate(all="ignore"):
        return np.asarray(alpha, dtype=np.float64) / np.maximum(np.asarray(m, dtype=np.float64), 1.0)


def _segment_accumulate(values: FloatArray, group: np.ndarray, n: int, op: np.ufunc) -> FloatArray:
    """Running ``op`` (maximum/minimum) of ``values`` restarted at each group.

    ``group`` must be non-decreasing (maximum) or non-increasing (minimum) along the array.
    Values are encoded as their global rank plus group·n, so groups never mix and no
    floating-point offsets are needed.
    """
    order = np.argsort(values, kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    key = group.astype(np.int64) * n + rank
    best = op.accumulate(key) - group.astype(np.int64) * n
    return values[order][best]


def adjust_pvalues(
    p: ArrayLike,
    *,
    method: Correction = "bonferroni",
    family: ArrayLike | None = None,
) -> FloatArray:
    """Adjusted p-values, computed separately within each ``family`` label (all one family if None).

    With m non-NaN p-values in a family and p_(1) ≤ … ≤ p_(m):
    - bonferroni: min(1, m·p)  (Dunn 1961)
    - holm: p̃_(i) = max_{j≤i} min(1, (m − j + 1) p_(j))  (Holm 1979, Scand. J. Statist. 6)
    - bh:   p̃_(i) = min_{j≥i} min(1, m p_(j) / j)  (Benjamini & Hochberg 1995, JRSS-B 57)
    These match statsmodels ``multipletests`` methods "bonferroni", "holm", "fdr_bh".
    NaN p-values, and invalid ones outside [0, 1] (see :func:`pvalue_reasons`), come out NaN and
    are not counted in m.
    """
    if method not in ("bonferroni", "holm", "bh"):
        raise ValueError(f"method must be 'bonferroni', 'holm' or 'bh', got {method!r}")
    pv = np.asarray(p, dtype=np.float64)
    shape = pv.shape
    pv = pv.ravel()
    out = np.full(pv.shape, np.nan)
    with np.errstate(invalid="ignore"):
        valid = (pv >= 0.0) & (pv <= 1.0)
    if not valid.any():
        return out.reshape(shape)
    if family is None:
        labels = np.zeros(pv.shape, dtype=np.int64)
    else:
        labels = np.unique(np.broadcast_to(np.asarray(family), shape).ravel(), return_inverse=True)[1].ravel()
    idx = np.flatnonzero(valid)
    g, x = labels[idx], pv[idx]
    order = np.lexsort((x, g))  # by family, then p ascending
    g, x = g[order], x[order]
    k = x.size
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    sizes = np.diff(np.r_[starts, k])
    m = np.repeat(sizes, sizes).astype(np.float64)
    j = (np.arange(k) - np.repeat(starts, sizes) + 1).astype(np.float64)  # 1-based rank in family
    seg = np.repeat(np.arange(starts.size), sizes)
    if method == "bonferroni":
        adj = np.minimum(1.0, m * x)
    elif method == "holm":
        adj = _segment_accumulate(np.minimum(1.0, (m - j + 1.0) * x), seg, k, np.maximum)
    else:
        raw = np.minimum(1.0, m * x / j)
        adj = _segment_accumulate(raw[::-1], seg[::-1], k, np.minimum)[::-1]
    result = np.empty(k)
    result[order] = adj
    out[idx] = result
    return out.reshape(shape)


def pvalue_reasons(p: ArrayLike) -> StrArray:
    """Why a p-value is left out of a correction: NaN (no test) or outside [0, 1] (invalid input)."""
    pv = np.asarray(p, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return reasons(
            pv.shape,
            (np.isnan(pv), "no p-value"),
            (~np.isnan(pv) & ((pv < 0.0) | (pv > 1.0)), "p-value outside [0, 1]: left out of the correction"),
        )
