"""Fisher's exact test of a 2 × 2 table without importing scipy.stats (its import is ≈ 0.4–0.65 CPU-s per process).

A daily pipeline run imports scipy.stats only for Fisher's test of the few low-count rows (:mod:`.exact`), and that
import was a visible share of an empty run's Dagster process. :func:`fisher_pvalue` is scipy's own 2 × 2 algorithm
(``scipy.stats.fisher_exact``, scipy 1.17: the hypergeometric tails, the two-sided sum over the tables no more likely
than the observed one with scipy's relative tolerance 1e-14, the binary search for the other tail's bound) on the
same Boost hypergeometric functions scipy.stats calls (``scipy.special._ufuncs._hypergeom_pmf/_cdf/_sf``, loaded
with scipy.special, which the statistics library imports anyway), with the support bounds scipy's ``rv_discrete``
applies around them. So the p-values are scipy's bit for bit (tests/stats/test_stats_fisher.py compares every table
of a grid with ``==``). Should a scipy release drop those private functions, scipy.stats is used instead.
"""

from __future__ import annotations

from collections.abc import Callable

SCIPY_ALTERNATIVES = ("two-sided", "less", "greater")
EPSILON = 1e-14
"""scipy's relative tolerance for "no more likely than the observed table" (ties in floating point)."""


def _hypergeom(total: int, good: int, draws: int) -> tuple[Callable, Callable, Callable]:
    """pmf, cdf and sf of the hypergeometric distribution (total, good, draws) with scipy.stats' support handling."""
    import scipy.special._ufuncs as scu

    low, high = max(draws - (total - good), 0), min(good, draws)
    args = (float(good), float(draws), float(total))

    def pmf(k: int) -> float:
        return min(max(float(scu._hypergeom_pmf(float(k), *args)), 0.0), 1.0) if low <= k <= high else 0.0

    def cdf(k: int) -> float:
        if k >= high:
            return 1.0
        return min(max(float(scu._hypergeom_cdf(float(k), *args)), 0.0), 1.0) if k >= low else 0.0

    def sf(k: int) -> float:
        if k < low:
            return 1.0
        return min(max(float(scu._hypergeom_sf(float(k), *args)), 0.0), 1.0) if k < high else 0.0

    return pmf, cdf, sf


def _binary_search(a: Callable[[int], float], d: float, lo: int, hi: int) -> int:
    """The i in [lo, hi] with a(i) <= d < a(i + 1) for a increasing on [lo, hi] (scipy's
    ``_binary_search_for_binom_tst``)."""
    while lo < hi:
        mid = lo + (hi - lo) // 2
        midval = a(mid)
        if midval < d:
            lo = mid + 1
        elif midval > d:
            hi = mid - 1
        else:
            return mid
    return lo if a(lo) <= d else lo - 1


def _scipy_pvalue(table: list[list[int]], alternative: str) -> float:
    from scipy import stats

    return float(stats.fisher_exact(table, alternative=alternative).pvalue)


def fisher_pvalue(table: list[list[int]], alternative: str = "two-sided") -> float:
    """Fisher's exact p-value of the 2 × 2 table [[a, b], [c, d]] (non-negative integers), as
    ``scipy.stats.fisher_exact(table, alternative).pvalue``."""
    if alternative not in SCIPY_ALTERNATIVES:
        raise ValueError(f"alternative must be one of {SCIPY_ALTERNATIVES}, got {alternative!r}")
    (a, b), (c, d) = ((int(v) for v in row) for row in table)
    if min(a, b, c, d) < 0:
        raise ValueError(f"a contingency table holds counts >= 0, got {table}")
    if 0 in (a + c, b + d, a + b, c + d):
        return 1.0
    try:
        import scipy.special._ufuncs as scu

        scu._hypergeom_pmf, scu._hypergeom_cdf, scu._hypergeom_sf  # noqa: B018 (present in this scipy?)
    except (ImportError, AttributeError):
        return _scipy_pvalue([[a, b], [c, d]], alternative)
    n1, n2, n = a + b, c + d, a + c
    pmf, cdf, sf = _hypergeom(n1 + n2, n1, n)
    if alternative == "less":
        return min(cdf(a), 1.0)
    if alternative == "greater":
        # scipy: the lower tail of the table with the columns swapped
        return min(_hypergeom(n1 + n2, n1, b + d)[1](b), 1.0)
    mode = int((n + 1) * (n1 + 1) / (n1 + n2 + 2))
    pexact, pmode = pmf(a), pmf(mode)
    gamma = 1 + EPSILON
    if abs(pexact - pmode) / max(pexact, pmode) <= EPSILON:
        return 1.0
    if a < mode:
        plower = cdf(a)
        if pmf(n) > pexact * gamma:
            return min(plower, 1.0)
        guess = _binary_search(lambda x: -pmf(x), -pexact * gamma, mode, n)
        return min(plower + sf(guess), 1.0)
    pupper = sf(a - 1)
    if pmf(0) > pexact * gamma:
        return min(pupper, 1.0)
    guess = _binary_search(pmf, pexact * gamma, 0, mode)
    return min(pupper + cdf(guess), 1.0)
