"""Power for every metric kind: ratio (delta method), retention, CUPED-adjusted (ρ² from pre-period data) and
one-sided tests, against statsmodels.stats.power and by simulating the analysis the planner plans for."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
from ratio_world import arm_stats, units
from statsmodels.stats.power import NormalIndPower, zt_ind_solve_power

from exptrack_pipeline.stats import (
    ArmStats,
    compare,
    compare_cuped,
    expected_variance_reduction,
    mde_for_sample_size,
    sample_size_per_arm,
)
from exptrack_pipeline.stats.frequentist import arm_mean_and_variance

REPS = 2000
NOISE = 3 * np.sqrt(0.8 * 0.2 / REPS)  # three binomial SDs of a simulated power of 0.8


@pytest.mark.parametrize("kind", ["mean", "ratio"])
def test_cuped_sample_size_matches_normal_ind_power(rng: np.random.Generator, kind: str) -> None:
    """CUPED leaves σ²(1 − ρ²): statsmodels' effect size δ/(σ√(1 − ρ²))."""
    solver = NormalIndPower()
    for _ in range(50):
        base, mde, sd, rho2 = rng.uniform(1, 50), rng.uniform(0.01, 0.2), rng.uniform(1, 80), rng.uniform(0, 0.95)
        n = sample_size_per_arm(base, mde, kind=kind, sd=sd, variance_reduction=rho2)
        ref = solver.solve_power(effect_size=base * mde / (sd * np.sqrt(1 - rho2)), alpha=0.05, power=0.8)
        assert n == pytest.approx(ref, rel=1e-6)


def test_retention_and_one_sided_match_zt_ind_solve_power(rng: np.random.Generator) -> None:
    for _ in range(50):
        base, mde, rho2 = rng.uniform(0.05, 0.6), rng.uniform(0.05, 0.3), rng.uniform(0, 0.5)
        p2 = base * (1 + mde)
        effect = (p2 - base) / np.sqrt((1 - rho2) * (base * (1 - base) + p2 * (1 - p2)) / 2)
        n = sample_size_per_arm(base, mde, kind="retention", variance_reduction=rho2)
        assert n == pytest.approx(zt_ind_solve_power(effect_size=effect, alpha=0.05, power=0.8), rel=1e-6)
        n1 = sample_size_per_arm(base, mde, kind="retention", variance_reduction=rho2, alternative="greater")
        ref = zt_ind_solve_power(effect_size=effect, alpha=0.05, power=0.8, alternative="larger")
        assert n1 == pytest.approx(ref, rel=1e-6)


def test_mde_inverts_sample_size_with_cuped_and_one_sided(rng: np.random.Generator) -> None:
    base, n = rng.uniform(0.02, 0.5, 100), rng.uniform(1e3, 1e6, 100)
    for kind, sd in (("retention", None), ("ratio", rng.uniform(0.1, 3.0, 100))):
        for alternative in ("two-sided", "less"):
            kw = {"kind": kind, "sd": sd, "variance_reduction": 0.4, "alternative": alternative, "power": 0.9}
            mde = mde_for_sample_size(n, base, **kw)
            np.testing.assert_allclose(sample_size_per_arm(base, mde, **kw), n, rtol=1e-8)


def test_invalid_variance_reduction_and_alternative() -> None:
    assert np.isnan(sample_size_per_arm(0.1, 0.1, variance_reduction=1.0))
    with pytest.raises(ValueError, match="alternative"):
        sample_size_per_arm(0.1, 0.1, alternative="larger")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs sd"):
        sample_size_per_arm(2.0, 0.1, kind="ratio")


def _pilot_ratio(rng: np.random.Generator) -> tuple[float, float, float]:
    """Baseline R, per-unit delta-method SD and ρ² of a large pre-experiment sample, as the planner reads them."""
    pilot = arm_stats(*units(rng, 200_000))
    mean, var = arm_mean_and_variance(pilot, "ratio")
    return float(mean), float(np.sqrt(var * 200_000)), float(expected_variance_reduction(pilot, "ratio"))


@pytest.mark.parametrize("cuped", [False, True])
def test_simulated_power_for_ratio_metrics(rng: np.random.Generator, cuped: bool) -> None:
    base, sd, rho2 = _pilot_ratio(rng)
    assert 0.2 < rho2 < 0.8
    n = int(np.ceil(sample_size_per_arm(base, 0.1, kind="ratio", sd=sd, variance_reduction=rho2 if cuped else 0.0)))
    control = arm_stats(*units(rng, (REPS, n)), axis=1)
    # an additive lift keeps the per-unit variance equal in both arms, as the planner assumes (docs/statistics.md)
    variant = arm_stats(*units(rng, (REPS, n), add=0.1 * base), axis=1)
    analyse = compare_cuped if cuped else compare
    observed = (analyse(control, variant, kind="ratio").p_value < 0.05).mean()
    assert abs(observed - 0.8) < NOISE


def test_simulated_power_for_cuped_means(rng: np.random.Generator) -> None:
    def draw(size, shift=0.0):
        x = rng.gamma(2.0, 5.0, size)
        return 3.0 + shift + 0.8 * x + rng.normal(0.0, 6.0, size), x

    y, x = draw(200_000)
    pilot = ArmStats.from_samples(y, x=x)
    rho2 = float(expected_variance_reduction(pilot, "mean"))
    n = int(np.ceil(sample_size_per_arm(y.mean(), 0.05, kind="mean", sd=y.std(ddof=1), variance_reduction=rho2)))
    arms = []
    for shift in (0.0, 0.05 * y.mean()):
        yy, xx = draw((REPS, n), shift)
        arms.append(
            ArmStats(n, yy.sum(1), (yy**2).sum(1), sum_x=xx.sum(1), sum_x_sq=(xx**2).sum(1), sum_xy=(xx * yy).sum(1))
        )
    observed = (compare_cuped(arms[0], arms[1], kind="mean").p_value < 0.05).mean()
    assert abs(observed - 0.8) < NOISE


def test_simulated_power_one_sided_retention(rng: np.random.Generator) -> None:
    """Day-7 retention, a proportion of the eligible cohort, tested one-sided (variant better) at α = 0.05."""
    n = int(np.ceil(sample_size_per_arm(0.3, 0.05, kind="retention", alternative="greater")))
    c = rng.binomial(n, 0.3, REPS).astype(float)
    v = rng.binomial(n, 0.315, REPS).astype(float)
    z = compare(ArmStats(n, c, c), ArmStats(n, v, v), kind="proportion").statistic
    observed = (z > scipy.stats.norm.ppf(0.95)).mean()
    assert abs(observed - 0.8) < NOISE
    assert n < sample_size_per_arm(0.3, 0.05, kind="retention")


def test_expected_variance_reduction_edge_cases(warnings_as_errors: None) -> None:
    constant = ArmStats(100, 10.0, 10.0, sum_x=100.0, sum_x_sq=100.0, sum_xy=10.0)
    assert expected_variance_reduction(constant, "proportion") == 0.0  # every unit had pre-period activity
    assert np.isnan(expected_variance_reduction(ArmStats(100, 0.0, 0.0, sum_x=5.0, sum_x_sq=5.0, sum_xy=0.0), "mean"))
    nan = ArmStats(100, 10.0, 10.0, sum_x=np.nan, sum_x_sq=np.nan, sum_xy=np.nan)
    assert np.isnan(expected_variance_reduction(nan, "proportion"))
