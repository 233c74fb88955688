"""Always-valid inference for continuous monitoring: Gaussian-mixture confidence sequences."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import scipy.special as sc
from numpy.typing import ArrayLike

from ._util import FloatArray
from .arms import ArmStats
from .cuped import cuped_or_plain_estimate
from .effect import Relative
from .frequentist import Comparison, Kind, build_comparison, estimate
from .sides import Alternative, side_of

DEFAULT_N_STAR = 5000.0


def mixture_rho(alpha: ArrayLike, n_star: ArrayLike = DEFAULT_N_STAR) -> FloatArray:
    """Mixture SD ρ that makes the boundary tightest at N* total units.

    ρ = √((−2 ln α + ln(−2 ln α + 1)) / N*)
    Source: Waudby-Smith et al. (2023) "Time-uniform central limit theory and asymptotic
    confidence sequences", arXiv:2103.06476v7 eq. (161); GrowthBook sequential testing docs
    (sequentialTuningParameter N*, default 5000).
    """
    a = np.asarray(alpha, dtype=np.float64)
    with np.errstate(all="ignore"):
        return np.sqrt((-2.0 * np.log(a) + np.log(-2.0 * np.log(a) + 1.0)) / np.asarray(n_star, dtype=np.float64))


def mixture_halfwidth_multiplier(n: ArrayLike, rho: ArrayLike, alpha: ArrayLike) -> FloatArray:
    """Multiplier q such that the CS half-width is q · SE (SE = standard error of the estimate).

    Two-sided normal-mixture boundary for N units with per-unit variance s² = SE²·N:
        half-width = s · √( 2(Nρ² + 1) ln(√(Nρ² + 1)/α) / (N²ρ²) )
    so q = √( 2(Nρ² + 1) ln(√(Nρ² + 1)/α) / (Nρ²) ).
    Source: Howard, Ramdas, McAuliffe & Sekhon (2021) Ann. Statist. 49(2), normal mixture
    boundary (eq. 14 / Prop. 6); Waudby-Smith et al. (2023) eq. (9); GrowthBook docs.
    """
    n = np.asarray(n, dtype=np.float64)
    r2 = np.asarray(rho, dtype=np.float64) ** 2
    with np.errstate(all="ignore"):
        return np.sqrt(2.0 * (n * r2 + 1.0) * np.log(np.sqrt(n * r2 + 1.0) / alpha) / (n * r2))


def always_valid_pvalue(z: ArrayLike, n: ArrayLike, rho: ArrayLike) -> FloatArray:
    """Per-look always-valid p-value p = min(1, 1/Λ) with the mixture likelihood ratio

        Λ = exp(ρ²N z² / (2(Nρ² + 1))) / √(Nρ² + 1),   z = Δ/SE.

    This is the mSPRT of Johari, Koomen, Pekelis & Walsh (2017, "Peeking at A/B tests", KDD)
    with mixing variance ρ²·s², and equals the smallest α at which the CS of
    :func:`mixture_halfwidth_multiplier` (same ρ) excludes 0. The always-valid p-value is the
    running minimum over looks; this function returns the value for one look (the caller keeps
    the history).
    """
    z = np.asarray(z, dtype=np.float64)
    nr2 = np.asarray(n, dtype=np.float64) * np.asarray(rho, dtype=np.float64) ** 2
    with np.errstate(all="ignore"):
        log_p = 0.5 * np.log1p(nr2) - nr2 * z**2 / (2.0 * (nr2 + 1.0))
        return np.exp(np.minimum(log_p, 0.0))


def one_sided_log_lr(z: ArrayLike, n: ArrayLike, rho: ArrayLike) -> FloatArray:
    """Log Λ⁺ of the one-sided (half-normal) mixture, evidence for Δ > 0:

        Λ⁺ = 2 Φ(z √(Nρ²/(Nρ² + 1))) · exp(ρ²N z² / (2(Nρ² + 1))) / √(Nρ² + 1)

    i.e. the Gaussian mixture of :func:`always_valid_pvalue` with the mixing distribution restricted to positive
    effects (density 2φ(λ/ρ)/ρ on λ > 0), integrated in closed form. Λ⁺ is a non-negative martingale under H0 with
    mean 1, so P(∃ look: Λ⁺ ≥ 1/α) ≤ α (Ville's inequality). Source: Howard, Ramdas, McAuliffe & Sekhon (2021),
    Ann. Statist. 49(2), one-sided normal mixture (Proposition 6 and its one-sided variant).
    """
    z = np.asarray(z, dtype=np.float64)
    nr2 = np.asarray(n, dtype=np.float64) * np.asarray(rho, dtype=np.float64) ** 2
    with np.errstate(all="ignore"):
        return (
            np.log(2.0)
            + sc.log_ndtr(z * np.sqrt(nr2 / (nr2 + 1.0)))
            + nr2 * z**2 / (2.0 * (nr2 + 1.0))
            - 0.5 * np.log1p(nr2)
        )


def one_sided_multiplier(n: ArrayLike, rho: ArrayLike, alpha: ArrayLike) -> FloatArray:
    """q⁺ with Λ⁺(q⁺) = 1/α (:func:`one_sided_log_lr`), by bisection on [0, two-sided q]: the one-sided boundary.

    Λ⁺ ≥ Λ for z ≥ 0, so q⁺ ≤ the two-sided multiplier; the one-sided bound is Δ̂ − q⁺·SE.
    """
    target = -np.log(np.asarray(alpha, dtype=np.float64))
    hi = np.asarray(mixture_halfwidth_multiplier(n, rho, alpha), dtype=np.float64)
    lo = np.zeros(np.broadcast_shapes(hi.shape, target.shape))
    hi = np.broadcast_to(hi, lo.shape).copy()
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        below = one_sided_log_lr(mid, n, rho) < target
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return 0.5 * (lo + hi)


def _sided(z: FloatArray, n: FloatArray, rho: ArrayLike, alpha: ArrayLike, side: ArrayLike):
    """(multiplier, p-value) per row: two-sided mixture for side 0, one-sided Λ⁺ on side·z otherwise."""
    s = np.asarray(side)
    q2 = mixture_halfwidth_multiplier(n, rho, alpha)
    p2 = always_valid_pvalue(z, n, rho)
    if not np.any(s != 0):
        return q2, p2
    q1 = one_sided_multiplier(n, rho, alpha)
    with np.errstate(all="ignore"):
        p1 = np.exp(np.minimum(-one_sided_log_lr(s * z, n, rho), 0.0))
    return np.where(s == 0, q2, q1), np.where(s == 0, p2, p1)


def compare_sequential(
    control: ArmStats,
    variant: ArmStats,
    *,
    kind: Kind,
    alpha: ArrayLike = 0.05,
    tau: ArrayLike | None = None,
    n_star: ArrayLike = DEFAULT_N_STAR,
    relative: Relative = "delta",
    cuped: bool = False,
    alternative: Alternative | ArrayLike = "two-sided",
) -> Comparison:
    """Always-valid (anytime) comparison, safe under daily peeking.

    Estimates and standard errors are those of :func:`compare` (or :func:`compare_cuped` with
    ``cuped=True``); the fixed-horizon z quantile is replaced by the normal-mixture
    confidence-sequence multiplier for N = n_c + n_v (:func:`mixture_halfwidth_multiplier`),
    applied to the absolute effect and to the relative lift (delta method, log ratio, or
    Fieller's interval with relative="fieller", which excludes 0 exactly when the p-value is
    below alpha). ``tau`` is the mixture SD ρ in per-unit SD units; when None it is set
    from ``n_star`` (GrowthBook's sequentialTuningParameter, default 5000) by
    :func:`mixture_rho`. ``p_value`` is the per-look always-valid p-value
    (:func:`always_valid_pvalue`, p = min(1, 1/Λ)); ``statistic`` is z = Δ/SE; ``df`` is inf.
    The guarantee is asymptotic (CLT-based, Waudby-Smith et al. 2023). One-sided rows (``alternative`` "greater" /
    "less") use the half-normal mixture (:func:`one_sided_log_lr`, :func:`one_sided_multiplier`) with the same ρ:
    p = min(1, 1/Λ⁺(side·z)) and one bound Δ̂ ∓ q⁺·SE, which excludes 0 exactly when p < alpha.
    """
    est = cuped_or_plain_estimate(control, variant, kind)[0] if cuped else estimate(control, variant, kind)
    a = np.asarray(alpha, dtype=np.float64)
    side = side_of(alternative)
    shape = np.broadcast_shapes(
        est.shape, a.shape, np.shape(n_star), np.shape(tau) if tau is not None else (), side.shape
    )
    rho = mixture_rho(a, n_star) if tau is None else np.asarray(tau, dtype=np.float64)
    n = est.n_control + est.n_variant
    diff, se = est.abs_effect, est.abs_se
    with np.errstate(all="ignore"):
        z = np.where(se > 0, diff / se, np.nan)
    q, p = _sided(z, n, rho, a, side)
    p = np.where(np.isnan(z), np.nan, p)
    method = np.char.add(np.asarray(est.method, dtype=str), "+sequential")
    return build_comparison(replace(est, df=np.full(est.shape, np.inf)), relative, q, z, p, method, shape, side)


def sequential_ratio_test(
    control: ArmStats,
    variant: ArmStats,
    *,
    kind: Kind,
    ratio: ArrayLike,
    alpha: ArrayLike = 0.05,
    n_star: ArrayLike = DEFAULT_N_STAR,
) -> tuple[FloatArray, FloatArray]:
    """Always-valid test of H0: μ_v = R·μ_c for a given R (e.g. R = 1 + margin for a guardrail).

    z_R = (m_v − R·m_c)/√(Var(m_v) + R²·Var(m_c) − 2R·Cov) against the mixture multiplier q for
    N = n_c + n_v (:func:`mixture_halfwidth_multiplier`, ρ from ``n_star``). Returns (z_R, q):
    z_R > q is evidence that the relative lift exceeds R − 1, z_R < −q that it is below. This is the
    test that Fieller's interval inverts, so it stays defined when that interval is unbounded
    (control mean near 0); with R = 1 it is the test behind ``compare_sequential``'s p-value.
    """
    est = estimate(control, variant, kind)
    a = np.asarray(alpha, dtype=np.float64)
    r = np.asarray(ratio, dtype=np.float64)
    q = mixture_halfwidth_multiplier(est.n_control + est.n_variant, mixture_rho(a, n_star), a)
    with np.errstate(all="ignore"):
        var = est.var_variant + r * r * est.var_control - 2.0 * r * np.asarray(est.cov, dtype=np.float64)
        z = np.where(var > 0, (est.mean_variant - r * est.mean_control) / np.sqrt(var), np.nan)
    shape = np.broadcast_shapes(np.shape(z), np.shape(q))
    return np.array(np.broadcast_to(z, shape)), np.array(np.broadcast_to(q, shape))
