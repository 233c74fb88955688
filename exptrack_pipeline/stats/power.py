"""Sample size, minimum detectable effect and duration for tests vs control, for every metric kind.

Kinds: ``proportion`` (σ² = p(1 − p)), ``retention`` (a proportion over the eligible cohort: the same σ², the
cohort being units exposed at least n days before the analysis), ``mean`` and ``ratio`` (σ² = sd², for ratios the
delta-method per-unit SD √(n·Var(R))) and ``quantile`` (σ² = n·Var(Q̂), Var(Q̂) from the order statistics that bound
the quantile, cluster-adjusted for event-level quantiles — :func:`.quantile.quantile_unit_sd`; the asymptotic
variance ν(1 − ν)/(n·f(Q)²) of a sample quantile scales as 1/n like a mean's, Deng, Knoblich & Lu 2018).
``variance_reduction`` = ρ² plans a CUPED-adjusted test: σ² × (1 − ρ²) (Deng, Xu, Kohavi & Walker 2013 §3.2).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import scipy.special as sc
from numpy.typing import ArrayLike

from ._util import FloatArray

PowerKind = Literal["proportion", "retention", "mean", "ratio", "quantile"]
Alternative = Literal["two-sided", "greater", "less"]
POWER_KINDS = ("proportion", "retention", "mean", "ratio", "quantile")
ALTERNATIVES = ("two-sided", "greater", "less")


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


def _standardised_effect(alpha: FloatArray, power: FloatArray, alternative: str = "two-sided") -> FloatArray:
    """U with Φ(u − z) + Φ(−u − z) = power, z = z_{1−α/2} (both tails, as statsmodels
    ``NormalIndPower``); solved by bisection on [0, z + z_power]. One-sided (``greater``/``less``, the effect in
    the tested direction): Φ(u − z_{1−α}) = power, u = z_{1−α} + z_power."""
    if alternative not in ALTERNATIVES:
        raise ValueError(f"alternative must be one of {ALTERNATIVES}, got {alternative!r}")
    if alternative != "two-sided":
        with np.errstate(all="ignore"):
            u = sc.ndtri(1.0 - alpha) + sc.ndtri(power)
        return np.where((power > alpha) & (power < 1.0), u, np.nan)
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


def _kept_share(variance_reduction: ArrayLike) -> FloatArray:
    """1 − ρ², the share of the per-unit variance CUPED leaves (NaN outside (0, 1])."""
    keep = 1.0 - np.asarray(variance_reduction, dtype=np.float64)
    return np.where((keep > 0) & (keep <= 1), keep, np.nan)


def _unit_variances(
    baseline: FloatArray, effect: FloatArray, kind: str, sd: ArrayLike | None, variance_reduction: ArrayLike = 0.0
) -> tuple[FloatArray, FloatArray]:
    """Per-unit variances (control, variant) × (1 − ρ²): p(1 − p) for proportions and retention, sd² otherwise."""
    if kind not in POWER_KINDS:
        raise ValueError(f"kind must be one of {POWER_KINDS}, got {kind!r}")
    keep = _kept_share(variance_reduction)
    if kind in ("proportion", "retention"):
        p2 = baseline + effect
        ok = (baseline > 0) & (baseline < 1) & (p2 >= 0) & (p2 <= 1)
        return np.where(ok, baseline * (1 - baseline), np.nan) * keep, np.where(ok, p2 * (1 - p2), np.nan) * keep
    if sd is None:
        raise ValueError(f"kind={kind!r} needs sd (the per-unit standard deviation)")
    var = np.asarray(sd, dtype=np.float64) ** 2 * keep
    return var, var


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
    variance_reduction: ArrayLike = 0.0,
    alternative: Alternative = "two-sided",
) -> FloatArray:
    """Units needed in the smallest-weight arm for a two-sided test to have ``power``.

    Effect δ = baseline·mde (relative) or mde. Unpooled normal approximation: with total N,
    control weight w_c and smallest variant weight w_v,
        Var(Δ̂) = V/N,  V = σ_c²/w_c + σ_v²/w_v,  power = Φ(u − z) + Φ(−u − z),  u = δ√N/√V,
    σ² = p(1 − p) for proportions and retention (p_v = p_c + δ), sd² for means and ratios (delta-method
    per-unit SD), times 1 − ``variance_reduction`` (ρ², CUPED); z = z_{1−α'/2} with α' = α/(n_arms − 1)
    (Bonferroni over comparisons vs control) when correction="bonferroni". One-sided
    (``alternative`` "greater"/"less"): power = Φ(u − z_{1−α'}).
    Returns N·min(w) (equal weights: the per-arm size); arm a needs that × w_a/min(w).
    Not rounded; round up. Equals statsmodels ``NormalIndPower().solve_power`` with
    effect size δ/√((σ_c² + σ_v²)/2) (equal weights) and ``ratio`` = n_v/n_c.
    Source: Chow, Shao & Wang (2008) "Sample Size Calculations in Clinical Research" §4.2.
    """
    b = np.asarray(baseline, dtype=np.float64)
    m = np.asarray(mde, dtype=np.float64)
    effect = b * m if relative else m
    var_c, var_v = _unit_variances(b, effect, kind, sd, variance_reduction)
    w_c, w_v, w_min = _weights(weights, n_arms)
    u = _standardised_effect(_alpha(alpha, n_arms, correction), np.asarray(power, dtype=np.float64), alternative)
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
    variance_reduction: ArrayLike = 0.0,
    alternative: Alternative = "two-sided",
) -> FloatArray:
    """Smallest positive effect detectable with ``power``: the inverse of :func:`sample_size_per_arm`.

    ``n_per_arm`` is the smallest-weight arm's size (same convention). For means
    δ = u·√(V/N). For proportions p_v depends on δ, so δ is the positive root of
        (N + k u²/w_v) δ² − k u²(1 − 2p)/w_v · δ − k u²(p(1 − p)/w_c + p(1 − p)/w_v) = 0,  k = 1 − ρ².
    Returns δ/baseline when ``relative`` (NaN when p + δ > 1).
    """
    b = np.asarray(baseline, dtype=np.float64)
    w_c, w_v, w_min = _weights(weights, n_arms)
    u = _standardised_effect(_alpha(alpha, n_arms, correction), np.asarray(power, dtype=np.float64), alternative)
    with np.errstate(all="ignore"):
        total = np.asarray(n_per_arm, dtype=np.float64) / w_min
        if kind in ("proportion", "retention"):
            pq = b * (1.0 - b)
            k = u**2 * _kept_share(variance_reduction)
            a2 = total + k / w_v
            b1 = k * (1.0 - 2.0 * b) / w_v
            c0 = k * (pq / w_c + pq / w_v)
            delta = (b1 + np.sqrt(b1**2 + 4.0 * a2 * c0)) / (2.0 * a2)
            delta = np.where((b > 0) & (b < 1) & (b + delta <= 1.0), delta, np.nan)
        else:
            var_c, var_v = _unit_variances(b, np.zeros_like(b), kind, sd, variance_reduction)
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
