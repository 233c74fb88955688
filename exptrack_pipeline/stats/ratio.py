"""Ratio metrics Σy/Σd per arm (e.g. revenue per session), by the delta method."""

from __future__ import annotations

import numpy as np

from ._util import FloatArray, StrArray, reasons
from .arms import ArmStats


def ratio_mean_and_variance(arm: ArmStats) -> tuple[FloatArray, FloatArray]:
    """Ratio r = Σy/Σd and its delta-method variance.

    With per-unit means ȳ, d̄ and sample (co)variances s_y², s_d², s_yd (ddof = 1):

        Var(r) ≈ (s_y² − 2 r s_yd + r² s_d²) / (n d̄²)

    Source: Deng, Knoblich & Lu (2018) "Applying the Delta Method in Metric Analytics",
    KDD, eq. (3); Kohavi, Tang & Xu (2020) ch. 18.
    """
    if not arm.has_ratio:
        raise ValueError("kind='ratio' needs sum_den, sum_den_sq and sum_num_den")
    n, sy, syy = arm.n, arm.sum, arm.sum_sq
    sd, sdd, syd = arm.sum_den, arm.sum_den_sq, arm.sum_num_den
    with np.errstate(all="ignore"):
        r = sy / sd
        var_y = (syy - sy * sy / n) / (n - 1.0)
        var_d = (sdd - sd * sd / n) / (n - 1.0)
        cov_yd = (syd - sy * sd / n) / (n - 1.0)
        d_bar = sd / n
        var_unit = np.maximum(var_y - 2.0 * r * cov_yd + r * r * var_d, 0.0)
        var_r = var_unit / (n * d_bar * d_bar)
    ok = (n >= 2) & (sd != 0)
    return np.where(sd != 0, r, np.nan), np.where(ok, var_r, np.nan)


def ratio_reasons(control: ArmStats, variant: ArmStats, shape: tuple[int, ...]) -> StrArray:
    """Reasons specific to ratio metrics (zero denominators)."""
    return reasons(
        shape,
        (control.sum_den == 0, "control denominator sum is 0: ratio undefined"),
        (variant.sum_den == 0, "variant denominator sum is 0: ratio undefined"),
    )
