"""Proportions with few events: an exact test and a score interval replace the Wald test in those rows.

A row is *small* when some arm expects fewer than ``exact_below`` conversions or non-conversions under H0 (pooled
rate; default 5, Cochran's rule, :func:`.validity.few_expected_counts`) and the row is otherwise testable (≥ 2 units
per arm, not zero conversions in both arms or all converted in both). There:

- ``p_value`` is the exact test of ``exact_test`` (:mod:`.exact`: fisher by default, boschloo or barnard), one-sided
  when the row's alternative is; ``method`` names it (``fisher_exact``, ...), ``statistic`` is NaN;
- the absolute interval is the Miettinen–Nurminen score interval of p_v − p_c and the relative one the score
  interval of p_v/p_c minus 1 (:mod:`.score`), *test-based* (Miettinen 1976, Am. J. Epidemiol. 103:226): the score
  statistic is rescaled by k = z_exact/z_score(0), z_exact = Φ⁻¹(1 − p/2) (one-sided: Φ⁻¹(1 − p)), so that at
  Δ = 0 it gives the exact p-value. The intervals therefore exclude 0 exactly when the exact p-value is below the
  row's level, like every other row; they keep the score interval's shape (asymmetric, inside [−1, 1]). No interval
  inverts Fisher's conditional test on the difference scale, and the unconditional exact interval (Chan & Zhang
  1999) costs a full table enumeration per candidate difference. Coverage is checked by simulation;
- ``abs_se`` stays NaN (the Wald SE is what is unreliable here), and the reason says so (:data:`SMALL`).
``exact_test="none"`` keeps the old behaviour: no test, NaN with the Cochran reason.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import scipy.special as sc
from numpy.typing import ArrayLike

from ._util import FloatArray, StrArray, join_reasons, reasons
from .arms import ArmStats
from .exact import EXACT_TESTS, METHOD_NAMES, UNCONDITIONAL_MAX_UNITS, effective_test, exact_pvalues
from .score import score_interval_diff, score_interval_ratio, score_z_diff
from .sides import open_ends, quantile
from .validity import few_counts_reason, few_expected_counts

if TYPE_CHECKING:
    from .frequentist import Comparison

SMALL = "few expected events in an arm: exact test with a test-based score interval, no standard error"


def small_rows(control: ArmStats, variant: ArmStats, exact_below: ArrayLike, shape: tuple[int, ...]) -> FloatArray:
    """Testable proportion rows below the expected-count threshold (see the module docstring)."""
    with np.errstate(all="ignore"):
        testable = (
            (control.n >= 2)
            & (variant.n >= 2)
            & (control.sum >= 0)
            & (variant.sum >= 0)
            & (control.sum <= control.n)
            & (variant.sum <= variant.n)
            & ~((control.sum == 0) & (variant.sum == 0))
            & ~((control.sum == control.n) & (variant.sum == variant.n))
        )
        counts = (control.n, control.sum, variant.n, variant.sum)
        finite = np.all([np.isfinite(np.broadcast_to(c, shape)) for c in counts], axis=0)
    return np.broadcast_to(few_expected_counts(control, variant, exact_below) & testable & finite, shape)


def apply_exact(
    comp: Comparison,
    control: ArmStats,
    variant: ArmStats,
    *,
    alpha: ArrayLike,
    side: ArrayLike,
    exact_test: ArrayLike,
    exact_below: ArrayLike,
) -> Comparison:
    """``comp`` with its small rows replaced by the exact test and the score intervals (module docstring)."""
    shape = comp.p_value.shape
    tests = np.broadcast_to(exact_or_none(exact_test), shape)
    use = small_rows(control, variant, exact_below, shape) & (tests != "none")
    if not use.any():
        return comp
    idx = np.flatnonzero(use)
    s = np.broadcast_to(np.asarray(side), shape)[use]
    a = np.broadcast_to(np.asarray(alpha, dtype=np.float64), shape)[use]
    xc, nc, xv, nv = (np.broadcast_to(v, shape)[use] for v in (control.sum, control.n, variant.sum, variant.n))
    eff, fallback = effective_test(tests[use], nc, nv)
    p = exact_pvalues(xc, nc, xv, nv, test=eff, side=s)
    with np.errstate(divide="ignore"):
        q = quantile(a, np.inf, s) / test_based_scale(p, score_z_diff(xv, nv, xc, nc, 0.0), s)
    q_low, q_high = np.where(s < 0, np.inf, q), np.where(s > 0, np.inf, q)
    abs_low, abs_high = open_ends(*score_interval_diff(xv, nv, xc, nc, q_low, q_high), s)
    ratio_low, ratio_high = score_interval_ratio(xv, nv, xc, nc, q_low, q_high)
    rel_low, rel_high = open_ends(ratio_low - 1.0, ratio_high - 1.0, s)
    cochran = few_counts_reason(np.ones(idx.size, dtype=bool), (idx.size,))[0]
    old = np.char.replace(np.char.replace(comp.reason[use].astype(str), "; " + cochran, ""), cochran, "")
    old = np.char.lstrip(old.astype(str), "; ")
    reason = join_reasons(
        old,
        reasons(
            (idx.size,),
            (np.ones(idx.size, dtype=bool), SMALL),
            (
                fallback,
                f"arm over {UNCONDITIONAL_MAX_UNITS} units: Fisher's exact test used (Boschloo/Barnard too costly)",
            ),
        ),
    )

    def put(field: np.ndarray, values: ArrayLike) -> np.ndarray:
        out = np.array(field, dtype=np.result_type(field, np.asarray(values)))
        out[use] = values
        return out

    return replace(
        comp,
        abs_ci_low=put(comp.abs_ci_low, abs_low),
        abs_ci_high=put(comp.abs_ci_high, abs_high),
        rel_lift_ci_low=put(comp.rel_lift_ci_low, rel_low),
        rel_lift_ci_high=put(comp.rel_lift_ci_high, rel_high),
        statistic=put(comp.statistic, np.nan),
        p_value=put(comp.p_value, p),
        method=put(comp.method.astype(object), np.array([METHOD_NAMES[t] for t in eff], dtype=object)).astype(str),
        reason=put(comp.reason.astype(object), reason.astype(object)).astype(str),
    )


def test_based_scale(p: ArrayLike, z0: ArrayLike, side: ArrayLike) -> FloatArray:
    """K = z_exact / (side-signed) z_score(0): the factor that makes the score statistic reproduce the exact p at 0.

    z_exact = Φ⁻¹(1 − p/2) two-sided, Φ⁻¹(1 − p) one-sided; k ≥ 0 (k = 0: the interval is the whole range);
    k = 1 where z_score(0) = 0 (no difference observed). Miettinen (1976) test-based limits.
    """
    pv, z, sd = (np.asarray(v, dtype=np.float64) for v in (p, z0, side))
    with np.errstate(all="ignore"):
        z_exact = np.where(sd == 0, sc.ndtri(1.0 - pv / 2.0), sc.ndtri(1.0 - pv))
        observed = np.where(sd == 0, np.abs(z), sd * z)
        k = np.where(observed == 0, 1.0, np.maximum(z_exact / observed, 0.0))
    return np.where(np.isnan(pv), np.nan, k)


def exact_or_none(values: ArrayLike) -> StrArray:
    """Validate per-row exact-test names ("fisher", "boschloo", "barnard" or "none")."""
    names = np.asarray(values, dtype=str)
    unknown = sorted(set(np.unique(names)) - {*EXACT_TESTS, "none"})
    if unknown:
        raise ValueError(f"exact_test must be one of {(*EXACT_TESTS, 'none')}, got {unknown}")
    return names
