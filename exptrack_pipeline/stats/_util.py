"""Shared helpers: float coercion, reason strings, quantiles and p-values."""

from __future__ import annotations

import numpy as np
import scipy.special as sc
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]
StrArray = NDArray[np.str_]


def as_float(x: ArrayLike | None) -> FloatArray | None:
    """Return ``x`` as a float64 array (``None`` passes through)."""
    if x is None:
        return None
    return np.asarray(x, dtype=np.float64)


def broadcast(shape: tuple[int, ...], *arrays: ArrayLike) -> list[FloatArray]:
    """Broadcast arrays to ``shape`` and copy them (results must be writable)."""
    return [np.array(np.broadcast_to(np.asarray(a, dtype=np.float64), shape)) for a in arrays]


def reasons(shape: tuple[int, ...], *rules: tuple[ArrayLike, str]) -> StrArray:
    """Build a reason array: for each row, the messages whose mask is True, joined by "; "."""
    active = [(np.broadcast_to(np.asarray(mask, dtype=bool), shape), msg) for mask, msg in rules]
    active = [(m, msg) for m, msg in active if m.any()]
    if not active:
        return np.full(shape, "", dtype="<U1")
    out = np.full(shape, "", dtype=object)
    for m, message in active:
        out = np.where(m, np.where(out == "", message, out + "; " + message), out)
    return out.astype(str)


def join_reasons(*parts: ArrayLike) -> StrArray:
    """Join reason arrays row-wise, skipping empty strings."""
    arrays = np.broadcast_arrays(*[np.asarray(p, dtype=str) for p in parts])
    nonempty = [a for a in arrays if (a != "").any()]
    if len(nonempty) <= 1:
        return np.array(nonempty[0] if nonempty else np.full(arrays[0].shape, "", dtype="<U1"))
    out = np.full(arrays[0].shape, "", dtype=object)
    for a in nonempty:
        out = np.where(a == "", out, np.where(out == "", a.astype(object), out + "; " + a.astype(object)))
    return out.astype(str)


def two_sided_quantile(alpha: ArrayLike, df: ArrayLike) -> FloatArray:
    """Critical value q with P(|T| > q) = alpha for Student t with ``df`` (normal if inf)."""
    a = np.asarray(alpha, dtype=np.float64)
    d = np.asarray(df, dtype=np.float64)
    with np.errstate(all="ignore"):
        q = sc.stdtrit(np.where(d > 0, d, np.nan), 1.0 - a / 2.0)
    return np.asarray(q, dtype=np.float64)


def two_sided_pvalue(stat: ArrayLike, df: ArrayLike) -> FloatArray:
    """Two-sided p-value 2 P(T > |stat|) for Student t with ``df`` (normal if inf)."""
    s = np.asarray(stat, dtype=np.float64)
    d = np.asarray(df, dtype=np.float64)
    with np.errstate(all="ignore"):
        p = 2.0 * sc.stdtr(np.where(d > 0, d, np.nan), -np.abs(s))
    return np.minimum(np.asarray(p, dtype=np.float64), 1.0)


def str_array(value: str | StrArray, shape: tuple[int, ...]) -> StrArray:
    """A string array of ``shape`` from ``value`` (a string or a broadcastable string array)."""
    return np.array(np.broadcast_to(np.asarray(value, dtype=str), shape))
