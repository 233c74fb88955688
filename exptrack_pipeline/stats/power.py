"""Sample size, minimum detectable effect and duration for two-sided tests vs control."""

from __future__ import annotations

from typing import Literal

import numpy as np
import scipy.special as sc
from numpy.typing import ArrayLike

from ._util import FloatArray

PowerKind = Literal["proportion", "mean"]


def power_proportion(
    n: ArrayLike, p1: ArrayLike, p2: ArrayLike, *, alpha: ArrayLike = 0.05, strict: bool = False
) -> FloatArray:
    """Power of the two-sided two-proportion test with n per group, as R ``power.prop.test``.

        power = Φ( (√n |p1 − p2| − z_{1−α/2} √((p1 + p2)(1 − (p1 + p2)/2))) / √(p1 q1 + p2 q2) )

    (pooled variance under H0, unpooled under H1). R's default ``strict = FALSE`` counts only
    the tail in the direction of the effect; ``strict=True`` adds the other tail.
    Source: R stats::power.prop.test; Fleiss, Levin & Paik (2003) §4.2.
    """
    n, p1, p2 = (np.asarray(v, dtype=np.float64) for v in (n, p1, p2))
    z = sc.ndtri(1.0 - np.asarray(alpha, dtype=np.float64) / 2.0)
    with np.errstate(all="ignore"):
        pooled = np.sqrt((p1 + p2) * (1.0 - (p1 + p2) / 2.0))
        sd1 = np.sqrt(p1 * (1.0 - p1) + p2 * (1.0 - p2))
        d = np.sqrt(n) * np.abs(p1 - p2)
        power = sc.ndtr((d - z * pooled) / sd1)
        if strict:
            power = power + sc.ndtr((-d - z * pooled) / sd1)
    return np.asarray(power, dtype=np.float64)


def _standardised_effect(alpha: FloatArray, power: FloatArray) -> FloatArray:
    """U with Φ(u − z) + Φ(−u − z) = power, z = z_{1−α/2} (both tails, as statsmodels
    ``NormalIndPower``); solved by bisection on [0, z + z_power]."""
    z = sc.ndtri(1.0 - alpha / 2.0)
    hi = z + sc.ndtri(power)
    lo = np.zeros_like(hi)
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        below = sc.ndtr(mid - z) + sc.ndtr(-mid - z) < power
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return np.where((power > alpha) & (power < 1.0), 0.5 * (lo + hi), np.nan)


def _weights(weights: ArrayLike | None, n_arms: int) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Normalised (control weight, smallest variant weight, smallest weight of any arm)."""
    if weights is None:
        w = np.full(n_arms, 1.0 / n_arms)
    else:
        w = np.asarray(weights, dtype=np.float64)
        if w.shape[-1] != n_arms:
            raise ValueError(f"weights has {w.shape[-1]} arms but n_arms = {n_arms}")
        w = w / w.sum(axis=-1, keepdims=True)
    return w[..., 0], w[..., 1:].min(axis=-1), w.min(axis=-1)


def _alpha(alpha: ArrayLike, n_arms: int, correction: str) -> FloatArray:
    if correction not in ("bonferroni", "none"):
        raise ValueError(f"correction must be 'bonferroni' or 'none', got {correction!r}")
    a = np.asarray(alpha, dtype=np.float64)
    return a / (n_arms - 1) if correction == "bonferroni" and n_arms > 2 else a


def _unit_variances(
    baseline: FloatArray, effect: FloatArray, kind: str, sd: ArrayLike | None
) -> tuple[FloatArray, FloatArray]:
    if kind == "proportion":
        p2 = baseline + effect
        ok = (baseline > 0) & (baseline < 1) & (p2 >= 0) & (p2 <= 1)
        return np.where(ok, baseline * (1 - baseline), np.nan), np.where(ok, p2 * (1 - p2), np.nan)
    if kind == "mean":
        if sd is None:
            raise ValueError("kind='mean' needs sd")
        var = np.asarray(sd, dtype=np.float64) ** 2
        return var, var
    raise ValueError(f"kind must be 'proportion' or 'mean', got {kind!r}")


def sample_size_per_arm(
    baseline: ArrayLike,
    mde: ArrayLike,
    *,
    kind: PowerKind = "proportion",
    sd: ArrayLike | None = None,
    relative: bool = True,
    alpha: ArrayLike = 0.05,
    power: ArrayLike = 0.8,
    n_arms: int = 2,
    weights: ArrayLike | None = None,
    correction: str = "bonferroni",
) -> FloatArray:
    """Units needed in the smallest-weight arm for a two-sided test to have ``power``.

    Effect δ = baseline·mde (relative) or mde. Unpooled normal approximation: with total N,
    control weight w_c and smallest variant weight w_v,
        Var(Δ̂) = V/N,  V = σ_c²/w_c + σ_v²/w_v,  power = Φ(u − z) + Φ(−u − z),  u = δ√N/√V,
    σ² = p(1 − p) for proportions (p_v = p_c + δ), sd² for means; z = z_{1−α'/2} with
    α' = α/(n_arms − 1) (Bonferroni over comparisons vs control) when correction="bonferroni".
    Returns N·min(w) (equal weights: the per-arm size); arm a needs that × w_a/min(w).
    Not rounded; round up. Equals statsmodels ``NormalIndPower().solve_power`` with
    effect size δ/√((σ_c² + σ_v²)/2) (equal weights) and ``ratio`` = n_v/n_c.
    Source: Chow, Shao & Wang (2008) "Sample Size Calculations in Clinical Research" §4.2.
    """
    b = np.asarray(baseline, dtype=np.float64)
    m = np.asarray(mde, dtype=np.float64)
    effect = b * m if relative else m
    var_c, var_v = _unit_variances(b, effect, kind, sd)
    w_c, w_v, w_min = _weights(weights, n_arms)
    u = _standardised_effect(_alpha(alpha, n_arms, correction), np.asarray(power, dtype=np.float64))
    with np.errstate(all="ignore"):
        total = u**2 * (var_c / w_c + var_v / w_v) / effect**2
        return np.asarray(total * w_min, dtype=np.float64)


def mde_for_sample_size(
    n_per_arm: ArrayLike,
    baseline: ArrayLike,
    *,
    kind: PowerKind = "proportion",
    sd: ArrayLike | None = None,
    relative: bool = True,
    alpha: ArrayLike = 0.05,
    power: ArrayLike = 0.8,
    n_arms: int = 2,
    weights: ArrayLike | None = None,
    correction: str = "bonferroni",
) -> FloatArray:
    """Smallest positive effect detectable with ``power``: the inverse of :func:`sample_size_per_arm`.

    ``n_per_arm`` is the smallest-weight arm's size (same convention). For means
    δ = u·√(V/N). For proportions p_v depends on δ, so δ is the positive root of
        (N + u²/w_v) δ² − u²(1 − 2p)/w_v · δ − u²(p(1 − p)/w_c + p(1 − p)/w_v) = 0.
    Returns δ/baseline when ``relative`` (NaN when p + δ > 1).
    """
    b = np.asarray(baseline, dtype=np.float64)
    w_c, w_v, w_min = _weights(weights, n_arms)
    u = _standardised_effect(_alpha(alpha, n_arms, correction), np.asarray(power, dtype=np.float64))
    with np.errstate(all="ignore"):
        total = np.asarray(n_per_arm, dtype=np.float64) / w_min
        if kind == "proportion":
            pq = b * (1.0 - b)
            a2 = total + u**2 / w_v
            b1 = u**2 * (1.0 - 2.0 * b) / w_v
            c0 = u**2 * (pq / w_c + pq / w_v)
            delta = (b1 + np.sqrt(b1**2 + 4.0 * a2 * c0)) / (2.0 * a2)
            delta = np.where((b > 0) & (b < 1) & (b + delta <= 1.0), delta, np.nan)
        else:
            var_c, var_v = _unit_variances(b, np.zeros_like(b), kind, sd)
            delta = u * np.sqrt((var_c / w_c + var_v / w_v) / total)
        return np.asarray(delta / b if relative else delta, dtype=np.float64)


def expected_duration_days(
    n_per_arm: ArrayLike,
    daily_units: ArrayLike,
    weights: ArrayLike | None = None,
    *,
    n_arms: int = 2,
) -> FloatArray:
    """Days until the smallest-weight arm reaches ``n_per_arm``: ⌈n / (daily_units · min(w))⌉.

    ``weights`` (normalised internally) default to an equal split over ``n_arms``; with
    weights given, n_arms is taken from them. Zero traffic gives inf.
    """
    if weights is not None:
        n_arms = np.shape(weights)[-1]
    w_min = _weights(weights, n_arms)[2]
    with np.errstate(all="ignore"):
        days = np.asarray(n_per_arm, dtype=np.float64) / (np.asarray(daily_units, dtype=np.float64) * w_min)
        return np.asarray(np.ceil(days), dtype=np.float64)
