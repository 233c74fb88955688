"""One-sided tests (stats/sides.py; alternative= of compare, compare_sequential, compare_cuped).

References: scipy ttest_ind(equal_var=False, alternative=...), statsmodels test_proportions_2indep(method="wald",
alternative="larger"/"smaller"); the one-sided mixture's closed form against numerical integration (scipy.integrate);
simulation of the always-valid one-sided test under daily peeking.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.integrate as integrate
import scipy.stats as st
from statsmodels.stats.proportion import test_proportions_2indep as sm_wald_test

from exptrack_pipeline.stats import ArmStats, compare, compare_cuped, compare_sequential, mixture_rho
from exptrack_pipeline.stats.sequential import (
    mixture_halfwidth_multiplier,
    one_sided_log_lr,
    one_sided_multiplier,
)


def test_one_sided_welch_matches_scipy(rng: np.random.Generator) -> None:
    for alternative in ("greater", "less"):
        a, b = rng.normal(10, 3, 80), rng.normal(10.8, 4, 95)
        res = compare(
            ArmStats(a.size, a.sum(), (a**2).sum()),
            ArmStats(b.size, b.sum(), (b**2).sum()),
            kind="mean",
            alternative=alternative,
            alpha=0.1,
        )
        ref = st.ttest_ind(b, a, equal_var=False, alternative=alternative)
        assert res.p_value == pytest.approx(ref.pvalue, rel=1e-9)
        bound = ref.confidence_interval(0.9)
        if alternative == "greater":
            assert res.abs_ci_low == pytest.approx(bound.low, rel=1e-9) and res.abs_ci_high == np.inf
        else:
            assert res.abs_ci_high == pytest.approx(bound.high, rel=1e-9) and res.abs_ci_low == -np.inf


def test_one_sided_proportion_matches_statsmodels_and_halves_the_two_sided_p() -> None:
    control, variant = ArmStats(5000, 500, 500), ArmStats(5000, 560, 560)
    two = compare(control, variant, kind="proportion")
    greater = compare(control, variant, kind="proportion", alternative="greater")
    less = compare(control, variant, kind="proportion", alternative="less")
    ref = sm_wald_test(560, 5000, 500, 5000, method="wald", compare="diff", alternative="larger")
    assert greater.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert greater.p_value == pytest.approx(two.p_value / 2, rel=1e-9) and less.p_value == pytest.approx(
        1 - two.p_value / 2, rel=1e-9
    )
    assert greater.p_value < 0.05 < two.p_value  # the declared direction buys power
    assert greater.rel_lift_ci_low > 0 and greater.rel_lift_ci_high == np.inf and less.rel_lift_ci_low == -np.inf


def test_cuped_follows_the_alternative() -> None:
    control = ArmStats(2000, 1000.0, 3000.0, sum_x=900.0, sum_x_sq=2500.0, sum_xy=1200.0)
    variant = ArmStats(2000, 1090.0, 3200.0, sum_x=910.0, sum_x_sq=2520.0, sum_xy=1250.0)
    two = compare_cuped(control, variant, kind="mean")
    one = compare_cuped(control, variant, kind="mean", alternative="greater")
    assert one.p_value == pytest.approx(two.p_value / 2, rel=1e-9) and one.abs_ci_high == np.inf


def test_one_sided_mixture_closed_form_matches_numerical_integration() -> None:
    """Λ⁺ = ∫_0^∞ exp(λS − λ²V/2) 2φ(λ/ρ)/ρ dλ with S = z√N, V = N (unit variance)."""
    for z, n, rho in [(1.5, 400, 0.05), (-0.7, 3000, 0.02), (3.2, 10_000, 0.01)]:
        s, v = z * np.sqrt(n), float(n)
        value, _ = integrate.quad(
            lambda lam, s=s, v=v, rho=rho: np.exp(lam * s - lam**2 * v / 2) * 2 * st.norm.pdf(lam / rho) / rho,
            0,
            50 * rho,
        )
        assert one_sided_log_lr(z, n, rho) == pytest.approx(np.log(value), rel=1e-7, abs=1e-9)


def test_one_sided_boundary_solves_its_equation_and_is_tighter() -> None:
    rho = mixture_rho(0.05)
    n = np.array([200.0, 5_000.0, 100_000.0])
    q = one_sided_multiplier(n, rho, 0.05)
    np.testing.assert_allclose(one_sided_log_lr(q, n, rho), -np.log(0.05), rtol=1e-9)
    assert np.all(q < mixture_halfwidth_multiplier(n, rho, 0.05))


def test_sequential_one_sided_p_and_bound_agree(rng: np.random.Generator) -> None:
    n = rng.integers(200, 20_000, 300).astype(float)
    xc, xv = rng.binomial(n.astype(int), 0.1), rng.binomial(n.astype(int), 0.11)
    alpha = rng.choice([0.01, 0.05, 0.1], 300)
    for alternative in ("greater", "less"):
        res = compare_sequential(
            ArmStats(n, xc, xc),
            ArmStats(n, xv, xv),
            kind="proportion",
            alpha=alpha,
            alternative=alternative,
            relative="fieller",
        )
        rejects = res.p_value < alpha
        excludes = (res.abs_ci_low > 0) if alternative == "greater" else (res.abs_ci_high < 0)
        np.testing.assert_array_equal(rejects, excludes)
        assert (rejects.any() or alternative == "less") and not rejects.all()


def test_always_valid_one_sided_type_one_error_under_daily_peeking() -> None:
    """A/A, 30 daily looks of 300 units/arm at 10 %: ever rejecting 'greater' stays ≤ α (fixed horizon: far above)."""
    rng = np.random.default_rng(7)
    sims, looks, daily = 1500, 30, 300
    xc = rng.binomial(daily, 0.1, (sims, looks)).cumsum(axis=1).astype(float)
    xv = rng.binomial(daily, 0.1, (sims, looks)).cumsum(axis=1).astype(float)
    n = np.broadcast_to(daily * np.arange(1, looks + 1, dtype=float), (sims, looks))
    control, variant = ArmStats(n.ravel(), xc.ravel(), xc.ravel()), ArmStats(n.ravel(), xv.ravel(), xv.ravel())
    seq = compare_sequential(control, variant, kind="proportion", alternative="greater").p_value.reshape(sims, looks)
    naive = compare(control, variant, kind="proportion", alternative="greater").p_value.reshape(sims, looks)
    noise = 2 * np.sqrt(0.05 * 0.95 / sims)
    assert np.mean((seq < 0.05).any(axis=1)) <= 0.05 + noise
    assert np.mean((naive < 0.05).any(axis=1)) > 0.15
