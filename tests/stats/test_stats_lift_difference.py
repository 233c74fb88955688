"""Novelty/interaction test (stats.lift_difference): the within-unit covariance of early and late periods, checked
against Monte-Carlo, with its false-positive rate under no novelty and its power with a planted novelty effect."""

from __future__ import annotations

import numpy as np
import pytest

from exptrack_pipeline.stats import ArmStats
from exptrack_pipeline.stats.lift_difference import compare_lift_difference, paired_mean_covariance


def _periods(rng: np.random.Generator, reps: int, n: int, early_lift: float, late_lift: float, kind: str):
    """Per unit a lasting propensity u (so early and late values correlate); the variant multiplies each period."""
    shape = 0.5 if kind == "proportion" else 2.0  # users differ a lot in how often they convert
    u = rng.gamma(shape, 1 / shape, (2, reps, n))  # arm × rep × unit, mean 1
    base = 0.25 if kind == "proportion" else 3.0
    scale = np.array([1.0, 1.0])[:, None, None]
    arms = {}
    for arm, lifts in ((0, (0.0, 0.0)), (1, (early_lift, late_lift))):
        values = []
        for _period, lift in enumerate(lifts):
            mean = base * u[arm] * (1 + lift) * scale[arm]
            y = (
                rng.binomial(1, np.clip(mean, 0, 1)).astype(float)
                if kind == "proportion"
                else rng.poisson(mean).astype(float)
            )
            values.append(y)
        arms[arm] = values
    out = {}
    for arm, (y1, y2) in arms.items():
        out[arm] = (
            ArmStats(np.full(reps, float(n)), y1.sum(1), (y1 * y1).sum(1)),
            ArmStats(np.full(reps, float(n)), y2.sum(1), (y2 * y2).sum(1)),
            (y1 * y2).sum(1),
            (y1.mean(1), y2.mean(1)),
        )
    return out


def _test(arms, kind, paired=True):
    (c1, c2, cross_c, _), (v1, v2, cross_v, _) = arms[0], arms[1]
    cov_c = paired_mean_covariance(c1, c2, kind, cross_c) if paired else 0.0
    cov_v = paired_mean_covariance(v1, v2, kind, cross_v) if paired else 0.0
    return compare_lift_difference(c1, v1, c2, v2, kind=kind, cov_control=cov_c, cov_variant=cov_v)


@pytest.mark.parametrize("kind", ["proportion", "mean"])
def test_covariance_and_variance_match_monte_carlo(rng: np.random.Generator, kind: str) -> None:
    arms = _periods(rng, 2000, 500, 0.1, 0.1, kind)
    c1, c2, cross, (m1, m2) = arms[0]
    emp = np.cov(m1, m2)[0, 1]
    assert np.mean(paired_mean_covariance(c1, c2, kind, cross)) == pytest.approx(emp, rel=0.1)
    res = _test(arms, kind)
    assert np.nanmean(res.se**2) == pytest.approx(np.nanvar(res.difference), rel=0.1)
    assert np.nanmean(_test(arms, kind, paired=False).se ** 2) > 1.3 * np.nanvar(
        res.difference
    )  # independence overstates


@pytest.mark.parametrize("kind", ["proportion", "mean"])
def test_no_novelty_false_positive_rate_and_planted_novelty_power(rng: np.random.Generator, kind: str) -> None:
    reps, alpha = 2000, 0.05
    null = _test(_periods(rng, reps, 500, 0.1, 0.1, kind), kind)
    assert np.mean(null.p_value < alpha) <= alpha + 3 * np.sqrt(alpha * (1 - alpha) / reps)
    early, late = (0.3, 0.0) if kind == "proportion" else (0.12, 0.04)  # the lift fades: a novelty effect
    planted = _periods(rng, 400, 1000, early, late, kind)
    paired, independent = _test(planted, kind), _test(planted, kind, paired=False)
    assert np.mean(paired.p_value < alpha) > np.mean(independent.p_value < alpha) + 0.15  # ≈ 0.62 vs 0.36, 0.48 vs 0.12
    assert np.mean(paired.p_value < alpha) > 0.4


def test_ratio_covariance_matches_monte_carlo(rng: np.random.Generator) -> None:
    reps, n = 3000, 600
    u = rng.gamma(2.0, 0.5, (reps, n))
    d1, d2 = rng.poisson(2 * u) + 1.0, rng.poisson(2 * u) + 1.0
    y1, y2 = rng.poisson(0.5 * d1 * u).astype(float), rng.poisson(0.5 * d2 * u).astype(float)

    def arm(y, d):
        return ArmStats(np.full(reps, float(n)), y.sum(1), (y * y).sum(1), d.sum(1), (d * d).sum(1), (y * d).sum(1))

    cov = paired_mean_covariance(
        arm(y1, d1), arm(y2, d2), "ratio", (y1 * y2).sum(1), (y1 * d2).sum(1), (d1 * y2).sum(1), (d1 * d2).sum(1)
    )
    emp = np.cov(y1.sum(1) / d1.sum(1), y2.sum(1) / d2.sum(1))[0, 1]
    assert np.mean(cov) == pytest.approx(emp, rel=0.1)
