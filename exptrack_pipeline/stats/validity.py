"""Input checks that turn garbage sufficient statistics into NaN with a reason instead of a number.

Rules (docs/statistics.md, "Undefined numbers"):
- every present field must be finite (no NaN/inf from an upstream bug);
- power sums must be consistent: Σy² ≥ (Σy)²/n (and likewise Σd², Σx²), up to rounding
  (relative tolerance 1e-9), because Σ(y − ȳ)² = Σy² − (Σy)²/n ≥ 0;
- proportions: the normal approximation needs at least ``MIN_EXPECTED_COUNT`` expected
  conversions and non-conversions in every arm under H0 (pooled rate), Cochran's rule for the
  2 × 2 χ² / z test (Cochran 1954, Biometrics 10:417). Below it the Wald test is
  anti-conservative (0/1000 vs 5/1000: Wald p 0.025, Fisher exact p 0.062), so no test is reported.
"""

from __future__ import annotations

import numpy as np

from ._util import FloatArray, StrArray, join_reasons, reasons
from .arms import ArmStats

MIN_EXPECTED_COUNT = 5.0
RELATIVE_TOLERANCE = 1e-9


def _nonfinite(arm: ArmStats, names: tuple[str, ...]) -> FloatArray:
    bad = np.zeros(arm.shape, dtype=bool)
    for name in names:
        value = getattr(arm, name)
        if value is not None:
            bad = bad | ~np.isfinite(value)
    return bad


def _inconsistent(n: FloatArray, s: FloatArray | None, ss: FloatArray | None) -> FloatArray:
    """Σy² < (Σy)²/n beyond rounding, or a negative n."""
    if s is None or ss is None:
        return np.zeros(np.shape(n), dtype=bool)
    with np.errstate(all="ignore"):
        floor = np.where(n > 0, s * s / n, 0.0)
        return (n < 0) | (ss < floor - RELATIVE_TOLERANCE * np.maximum(np.abs(floor), 1.0))


def input_reasons(control: ArmStats, variant: ArmStats, shape: tuple[int, ...]) -> tuple[StrArray, FloatArray]:
    """Reasons (and a row mask) for non-finite or inconsistent sufficient statistics.

    Covariate fields are not judged here (a NaN covariate only switches CUPED off, see cuped.py).
    """
    core = ("n", "sum", "sum_sq", "sum_den", "sum_den_sq", "sum_num_den")
    rules = []
    mask = np.zeros(shape, dtype=bool)
    for name, arm in (("control", control), ("variant", variant)):
        nonfinite = np.broadcast_to(_nonfinite(arm, core), shape)
        bad_sums = (
            np.broadcast_to(
                _inconsistent(arm.n, arm.sum, arm.sum_sq) | _inconsistent(arm.n, arm.sum_den, arm.sum_den_sq), shape
            )
            & ~nonfinite
        )
        rules += [
            (nonfinite, f"{name} sufficient statistics are not finite (NaN or inf)"),
            (bad_sums, f"{name} sufficient statistics are inconsistent (Σy² < (Σy)²/n or n < 0)"),
        ]
        mask = mask | nonfinite | bad_sums
    return reasons(shape, *rules), mask


def few_expected_counts(control: ArmStats, variant: ArmStats) -> FloatArray:
    """Rows where some arm expects fewer than MIN_EXPECTED_COUNT conversions or non-conversions under H0.

    Expected count of arm a = n_a · p̂ (conversions) and n_a · (1 − p̂) (non-conversions), p̂ = pooled rate.
    """
    with np.errstate(all="ignore"):
        total = control.n + variant.n
        pooled = (control.sum + variant.sum) / total
        smallest = np.minimum(control.n, variant.n) * np.minimum(pooled, 1.0 - pooled)
        return (total > 0) & (smallest < MIN_EXPECTED_COUNT)


def few_counts_reason(mask: FloatArray, shape: tuple[int, ...]) -> StrArray:
    """The reason a proportion test is withheld where `mask` has too few expected counts (Cochran 1954)."""
    return reasons(
        shape,
        (
            mask,
            f"fewer than {MIN_EXPECTED_COUNT:g} expected conversions (or non-conversions) in an arm: "
            "normal approximation unreliable, no test reported (Cochran 1954)",
        ),
    )


__all__ = ["MIN_EXPECTED_COUNT", "few_counts_reason", "few_expected_counts", "input_reasons", "join_reasons"]
