"""Confidence intervals for a single arm."""

from __future__ import annotations

import numpy as np
import scipy.special as sc
from numpy.typing import ArrayLike


def wilson_interval(successes: ArrayLike, n: ArrayLike, alpha: ArrayLike = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a proportion p̂ = x/n (Wilson 1927; statsmodels
    ``proportion_confint(method="wilson")``).

    centre = (p̂ + z²/2n) / (1 + z²/n),  half-width = z·√(p̂(1−p̂)/n + z²/4n²) / (1 + z²/n),  z = Φ⁻¹(1 − α/2).
    Rows with n = 0 give NaN bounds.
    """
    x = np.asarray(successes, dtype=float)
    n = np.asarray(n, dtype=float)
    z = sc.ndtri(1 - np.asarray(alpha, dtype=float) / 2)  # Φ⁻¹ (what scipy.stats.norm.ppf computes)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        denom = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
        low = np.where(n > 0, np.clip(centre - half, 0, 1), np.nan)
        high = np.where(n > 0, np.clip(centre + half, 0, 1), np.nan)
    return low, high
