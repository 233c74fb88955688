"""Exact tests for two proportions at low counts: Fisher, Boschloo, Barnard (scipy.stats).

Below Cochran's rule (an arm expects fewer than 5 conversions or non-conversions under H0, :mod:`.validity`) the
Wald z test is anti-conservative: 0/1000 vs 5/1000 gives Wald p 0.025 where Fisher's exact test gives 0.062. There
:func:`exact_pvalues` replaces it. The 2 × 2 table has the arms as columns (variant first) and conversions /
non-conversions as rows, so ``alternative="greater"`` is H1: p_v > p_c for all three tests.

- ``fisher``: conditional on both margins (hypergeometric); two-sided p sums the tables no more likely than the
  observed one. Fisher (1935); scipy ``fisher_exact``'s algorithm, run without importing scipy.stats (:mod:`.fisher`).
  Fast at any n.
- ``boschloo``: unconditional, Fisher's p-value as the statistic, maximised over the nuisance common rate;
  uniformly more powerful than Fisher (Boschloo 1970, Statistica Neerlandica 24:1; scipy ``boschloo_exact``).
- ``barnard``: unconditional with the pooled z statistic (Barnard 1945; scipy ``barnard_exact``).
Both unconditional tests enumerate every (n_c + 1)(n_v + 1) table: seconds at 200 units per arm, minutes at 1,000.
Rows whose arms exceed ``UNCONDITIONAL_MAX_UNITS`` use Fisher instead, with a reason.

scipy computes each table separately; rows are few (low counts only) and identical tables are computed once.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from ._util import FloatArray, StrArray
from .fisher import fisher_pvalue

ExactTest = Literal["fisher", "boschloo", "barnard"]
EXACT_TESTS: tuple[str, ...] = ("fisher", "boschloo", "barnard")
METHOD_NAMES = {"fisher": "fisher_exact", "boschloo": "boschloo_exact", "barnard": "barnard_exact"}
UNCONDITIONAL_MAX_UNITS = 200
"""Arms larger than this use Fisher's test even when Boschloo or Barnard is asked for (their cost grows as n²)."""
NUISANCE_POINTS = 32
"""Grid size scipy maximises the nuisance parameter over (its default)."""
SCIPY_ALTERNATIVE = {0: "two-sided", 1: "greater", -1: "less"}


def _one_pvalue(table: tuple[int, int, int, int], test: str, side: int) -> float:
    xv, nv, xc, nc = table
    grid = [[xv, xc], [nv - xv, nc - xc]]
    alternative = SCIPY_ALTERNATIVE[side]
    if test == "fisher":  # scipy's algorithm without importing scipy.stats (.fisher)
        return fisher_pvalue(grid, alternative)
    from scipy import stats  # here, not at import: scipy.stats costs 0.65 CPU-s and few runs have low counts

    if test == "boschloo":
        return float(stats.boschloo_exact(grid, alternative=alternative, n=NUISANCE_POINTS).pvalue)
    if test == "barnard":
        return float(stats.barnard_exact(grid, alternative=alternative, n=NUISANCE_POINTS).pvalue)
    raise ValueError(f"exact test must be one of {EXACT_TESTS}, got {test!r}")


def effective_test(test: ArrayLike, n_control: ArrayLike, n_variant: ArrayLike) -> tuple[StrArray, FloatArray]:
    """The test each row runs: Boschloo/Barnard fall back to Fisher above UNCONDITIONAL_MAX_UNITS (mask returned)."""
    t = np.asarray(test, dtype=str)
    big = np.maximum(np.asarray(n_control), np.asarray(n_variant)) > UNCONDITIONAL_MAX_UNITS
    fallback = (t != "fisher") & big
    return np.where(fallback, "fisher", t), fallback


def exact_pvalues(
    x_control: ArrayLike,
    n_control: ArrayLike,
    x_variant: ArrayLike,
    n_variant: ArrayLike,
    *,
    test: ArrayLike = "fisher",
    side: ArrayLike = 0,
) -> FloatArray:
    """Exact p-value per row for conversions x out of n units; ``side`` 0 two-sided, +1 H1: p_v > p_c, −1 p_v < p_c.

    ``test`` is "fisher", "boschloo" or "barnard" per row (no fallback here: see :func:`effective_test`).
    Rows with non-integer or impossible counts (x outside [0, n]) are NaN.
    """
    arrays = np.broadcast_arrays(
        *(np.asarray(v, dtype=np.float64) for v in (x_variant, n_variant, x_control, n_control)),
        np.asarray(test, dtype=str),
        np.asarray(side, dtype=np.int64),
    )
    xv, nv, xc, nc, tests, sides = (np.ravel(a) for a in arrays)
    unknown = set(np.unique(tests)) - set(EXACT_TESTS)
    if unknown:
        raise ValueError(f"exact test must be one of {EXACT_TESTS}, got {sorted(unknown)}")
    out = np.full(xv.shape, np.nan)
    with np.errstate(invalid="ignore"):
        counts = np.stack([xv, nv, xc, nc])
        valid = (
            np.all(np.isfinite(counts), axis=0)
            & np.all(counts == np.round(counts), axis=0)
            & (xv >= 0)
            & (xc >= 0)
            & (xv <= nv)
            & (xc <= nc)
            & (nv > 0)
            & (nc > 0)
        )
    cache: dict[tuple, float] = {}
    for i in np.flatnonzero(valid):
        key = (int(xv[i]), int(nv[i]), int(xc[i]), int(nc[i]), str(tests[i]), int(np.sign(sides[i])))
        if key not in cache:
            cache[key] = min(1.0, _one_pvalue(key[:4], key[4], key[5]))
        out[i] = cache[key]
    return out.reshape(arrays[0].shape)
