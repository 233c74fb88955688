"""compare_sequential(): always-valid intervals and p-values under daily peeking."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from exptrack_pipeline.stats import (
    ArmStats,
    always_valid_pvalue,
    compare,
    compare_sequential,
    mixture_halfwidth_multiplier,
    mixture_rho,
)

DAYS, REPS, ALPHA = 21, 2000, 0.05


def _daily_aa_proportion(rng: np.random.Generator, daily: int, p: float) -> tuple[ArmStats, ArmStats]:
    """Cumulative A/A conversion counts: REPS experiments × DAYS looks, flattened."""
    arms = []
    for _ in range(2):
        counts = rng.binomial(daily, p, (REPS, DAYS)).cumsum(axis=1).astype(float).ravel()
        n = np.tile(daily * np.arange(1, DAYS + 1), REPS).astype(float)
        arms.append(ArmStats(n, counts, counts))
    return arms[0], arms[1]


def _daily_aa_mean(rng: np.random.Generator, daily: int) -> tuple[ArmStats, ArmStats]:
    """Exact cumulative sufficient statistics of N(2, 3²) data (daily mean and χ² spread)."""
    arms = []
    for _ in range(2):
        day_mean = rng.normal(2.0, 3.0 / np.sqrt(daily), (REPS, DAYS))
        day_ss = 9.0 * rng.chisquare(daily - 1, (REPS, DAYS)) + daily * day_mean**2
        n = np.tile(daily * np.arange(1, DAYS + 1), REPS).astype(float)
        arms.append(ArmStats(n, (daily * day_mean).cumsum(1).ravel(), day_ss.cumsum(1).ravel()))
    return arms[0], arms[1]


def _any_look(reject: np.ndarray) -> float:
    return float(reject.reshape(REPS, DAYS).any(axis=1).mean())


@pytest.mark.parametrize("kind", ["proportion", "mean"])
def test_peeking_inflates_naive_test_but_not_sequential(rng: np.random.Generator, kind: str) -> None:
    control, variant = _daily_aa_proportion(rng, 500, 0.08) if kind == "proportion" else _daily_aa_mean(rng, 300)
    naive = compare(control, variant, kind=kind, alpha=ALPHA)
    seq = compare_sequential(control, variant, kind=kind, alpha=ALPHA)
    slack = 3 * np.sqrt(ALPHA * (1 - ALPHA) / REPS)
    assert _any_look(naive.p_value < ALPHA) > 2 * ALPHA
    assert _any_look(seq.p_value < ALPHA) <= ALPHA + slack
    outside = (seq.abs_ci_low > 0) | (seq.abs_ci_high < 0)
    assert _any_look(outside) <= ALPHA + slack
    # last look alone: the fixed-horizon test is calibrated
    last = np.arange(REPS) * DAYS + DAYS - 1
    assert abs((naive.p_value[last] < ALPHA).mean() - ALPHA) < slack


def test_pvalue_and_interval_are_dual(rng: np.random.Generator) -> None:
    n = rng.integers(100, 50_000, 500).astype(float)
    c = rng.binomial(n.astype(int), 0.1).astype(float)
    v = rng.binomial(n.astype(int), 0.105).astype(float)
    for alpha in (0.01, 0.05, 0.2):
        res = compare_sequential(ArmStats(n, c, c), ArmStats(n, v, v), kind="proportion", alpha=alpha, tau=0.03)
        excludes = (res.abs_ci_low > 0) | (res.abs_ci_high < 0)
        np.testing.assert_array_equal(excludes, res.p_value < alpha)


def test_likelihood_ratio_equals_numerically_integrated_mixture() -> None:
    """1/p = Λ = ∫ exp(θS − θ²N/2) N(θ; 0, ρ²) dθ for S = z√N (unit-variance increments)."""
    for z, n, rho in [(1.0, 100, 0.1), (2.5, 5000, 0.03), (3.3, 20_000, 0.01), (0.3, 10, 1.0)]:
        s = z * np.sqrt(n)
        integrand = lambda t, s=s, n=n, rho=rho: np.exp(t * s - t * t * n / 2) * stats.norm.pdf(t, 0, rho)  # noqa: E731
        lam = integrate.quad(integrand, -10 * rho, 10 * rho + 2 * abs(s) / n, limit=200)[0]
        assert always_valid_pvalue(z, n, rho) == pytest.approx(min(1.0, 1.0 / lam), rel=1e-7)


def test_boundary_has_pvalue_alpha() -> None:
    n = np.array([10.0, 1e3, 1e5, 1e7])
    for alpha in (0.01, 0.05, 0.1):
        rho = mixture_rho(alpha)
        q = mixture_halfwidth_multiplier(n, rho, alpha)
        np.testing.assert_allclose(always_valid_pvalue(q, n, rho), alpha, rtol=1e-10)


def test_rho_is_tightest_near_tuning_parameter() -> None:
    """GrowthBook's ρ(N*) makes the CS narrowest (relative to the fixed z) around N*."""
    n = np.geomspace(100, 1e6, 2001)
    for n_star in (1000.0, 5000.0, 50_000.0):
        q = mixture_halfwidth_multiplier(n, mixture_rho(0.05, n_star), 0.05)
        best = n[np.argmin(q)]
        assert n_star / 3 < best < 3 * n_star


def test_sequential_interval_contains_fixed_interval_and_rel_interval(rng: np.random.Generator) -> None:
    n = rng.integers(200, 20_000, 300).astype(float)
    m = np.abs(rng.normal(5, 2, 300)) + 0.1
    control = ArmStats(n, m * n, (4 + m**2) * n)
    variant = ArmStats(n, 1.02 * m * n, (4 + (1.02 * m) ** 2) * n)
    fixed = compare(control, variant, kind="mean")
    seq = compare_sequential(control, variant, kind="mean")
    assert np.all(seq.abs_ci_low < fixed.abs_ci_low) and np.all(seq.abs_ci_high > fixed.abs_ci_high)
    assert np.all(seq.rel_lift_ci_low < fixed.rel_lift_ci_low)
    assert np.all(seq.p_value >= fixed.p_value)
    assert set(seq.method) == {"welch_t+sequential"} and set(seq.df) == {np.inf}
    np.testing.assert_allclose(seq.rel_lift, fixed.rel_lift)


def test_cuped_sequential_uses_adjusted_estimate() -> None:
    control = ArmStats(1000, 5000.0, 30_000.0, sum_x=10_000.0, sum_x_sq=104_000.0, sum_xy=50_900.0)
    variant = ArmStats(1000, 5100.0, 30_500.0, sum_x=10_000.0, sum_x_sq=104_000.0, sum_xy=51_900.0)
    res = compare_sequential(control, variant, kind="mean", cuped=True)
    assert str(res.method) == "welch_t+cuped+sequential"
    assert res.abs_se < compare_sequential(control, variant, kind="mean").abs_se
