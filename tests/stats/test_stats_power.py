"""Sample size, MDE and power against statsmodels NormalIndPower, R and simulation."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.power import NormalIndPower

from exptrack_pipeline.stats import (
    ArmStats,
    compare,
    expected_duration_days,
    mde_for_sample_size,
    power_proportion,
    sample_size_per_arm,
)


def test_power_prop_test_matches_r() -> None:
    # R: power.prop.test(n = 50, p1 = .5, p2 = .75)  ->  power = 0.7401659
    assert power_proportion(50, 0.5, 0.75) == pytest.approx(0.7401659, abs=5e-8)
    # strict = TRUE adds the far tail, Φ(−(√50·.25 + 1.96·√.46875)/√.4375) ≈ 1.29e-6
    assert power_proportion(50, 0.5, 0.75, strict=True) - power_proportion(50, 0.5, 0.75) == pytest.approx(
        1.29e-6, rel=0.01
    )


def test_proportion_sample_size_matches_normal_ind_power(rng: np.random.Generator) -> None:
    base = rng.uniform(0.01, 0.6, 200)
    mde = rng.uniform(0.02, 0.5, 200)
    alpha = rng.choice([0.01, 0.05, 0.1], 200)
    power = rng.uniform(0.6, 0.95, 200)
    n = sample_size_per_arm(base, mde, alpha=alpha, power=power)
    p2 = base * (1 + mde)
    effect = (p2 - base) / np.sqrt((base * (1 - base) + p2 * (1 - p2)) / 2)
    solver = NormalIndPower()
    for i in range(200):
        ref = solver.solve_power(effect_size=effect[i], alpha=alpha[i], power=power[i], ratio=1.0)
        assert n[i] == pytest.approx(ref, rel=1e-6)


def test_mean_sample_size_with_unequal_split_and_many_arms(rng: np.random.Generator) -> None:
    solver = NormalIndPower()
    for _ in range(200):
        base, mde = rng.uniform(1, 100), rng.uniform(0.01, 0.2)
        sd = base * rng.uniform(0.5, 3.0)
        n_arms = int(rng.integers(2, 5))
        w = rng.uniform(0.2, 1.0, n_arms)
        n = sample_size_per_arm(base, mde, kind="mean", sd=sd, n_arms=n_arms, weights=w)
        w = w / w.sum()
        w_v = w[1:].min()
        ref_control = solver.solve_power(
            effect_size=base * mde / sd, alpha=0.05 / (n_arms - 1), power=0.8, ratio=w_v / w[0]
        )
        assert n == pytest.approx(ref_control / w[0] * w.min(), rel=1e-6)


def test_mde_inverts_sample_size(rng: np.random.Generator) -> None:
    base = rng.uniform(0.02, 0.5, 200)
    n = rng.uniform(1e3, 1e6, 200)
    for kind, sd in (("proportion", None), ("mean", rng.uniform(0.1, 3.0, 200))):
        for weights in (None, [0.5, 0.3, 0.2]):
            n_arms = 2 if weights is None else 3
            kw = {"kind": kind, "sd": sd, "n_arms": n_arms, "weights": weights, "power": 0.9, "alpha": 0.1}
            mde = mde_for_sample_size(n, base, **kw)
            np.testing.assert_allclose(sample_size_per_arm(base, mde, **kw), n, rtol=1e-8)


def test_simulated_power_matches_target(rng: np.random.Generator) -> None:
    reps = 4000
    for target in (0.8, 0.9):
        n = int(np.ceil(sample_size_per_arm(0.1, 0.1, power=target)))
        c = rng.binomial(n, 0.10, reps).astype(float)
        v = rng.binomial(n, 0.11, reps).astype(float)
        observed = (compare(ArmStats(n, c, c), ArmStats(n, v, v), kind="proportion").p_value < 0.05).mean()
        assert abs(observed - target) < 0.03


def test_simulated_power_for_means(rng: np.random.Generator) -> None:
    reps, sd = 4000, 4.0
    n = int(np.ceil(sample_size_per_arm(20.0, 0.02, kind="mean", sd=sd)))  # δ = 0.4
    arms = []
    for mu in (20.0, 20.4):
        mean = rng.normal(mu, sd / np.sqrt(n), reps)
        arms.append(ArmStats(n, n * mean, sd**2 * rng.chisquare(n - 1, reps) + n * mean**2))
    observed = (compare(arms[0], arms[1], kind="mean").p_value < 0.05).mean()
    assert abs(observed - 0.8) < 0.03


def test_expected_duration_days() -> None:
    # 10,000 per arm, 1,000 units/day split 50/50 -> 20 days; 70/30 -> 10,000/300 = 33.3 -> 34
    np.testing.assert_array_equal(expected_duration_days([10_000, 10_000], 1_000), [20, 20])
    assert expected_duration_days(10_000, 1_000, [0.7, 0.3]) == 34
    assert expected_duration_days(10_000, 1_500, n_arms=3) == 20
    assert np.isinf(expected_duration_days(10, 0))


def test_invalid_inputs_give_nan_not_errors(warnings_as_errors: None) -> None:
    n = sample_size_per_arm([0.0, 0.9, 0.1], [0.1, 0.2, 0.0])
    assert np.isnan(n[0]) and np.isnan(n[1]) and np.isinf(n[2])
    assert np.isnan(mde_for_sample_size(10, 0.99))
    with pytest.raises(ValueError):
        sample_size_per_arm(10.0, 0.1, kind="mean")
