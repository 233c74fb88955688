"""bayesian_summary(): normal-approximation posterior vs Beta posteriors and numerical integrals."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from exptrack_pipeline.stats import ArmStats, bayesian_summary, compare


def test_matches_beta_binomial_monte_carlo(rng: np.random.Generator) -> None:
    """Stucchio (2015): Beta(1 + c, 1 + n − c) posteriors; large n -> normal approximation holds."""
    cases = [(20_000, 2_000, 20_000, 2_080), (5_000, 400, 6_000, 450), (50_000, 1_500, 50_000, 1_480)]
    draws = 400_000
    for n_c, c_c, n_v, c_v in cases:
        p_c = rng.beta(1 + c_c, 1 + n_c - c_c, draws)
        p_v = rng.beta(1 + c_v, 1 + n_v - c_v, draws)
        control, variant = ArmStats(n_c, c_c, c_c), ArmStats(n_v, c_v, c_v)
        absolute = bayesian_summary(control, variant, kind="proportion", relative=False)
        relative = bayesian_summary(control, variant, kind="proportion")
        mc_prob = np.mean(p_v > p_c)
        assert absolute.prob_beat_control == pytest.approx(mc_prob, abs=0.01)
        assert relative.prob_beat_control == pytest.approx(mc_prob, abs=0.015)
        assert absolute.expected_loss == pytest.approx(np.mean(np.maximum(p_c - p_v, 0)), rel=0.05)
        assert absolute.expected_loss_control == pytest.approx(np.mean(np.maximum(p_v - p_c, 0)), rel=0.05)
        lift = p_v / p_c - 1
        assert relative.ci_low == pytest.approx(np.quantile(lift, 0.025), abs=0.01)
        assert relative.ci_high == pytest.approx(np.quantile(lift, 0.975), abs=0.01)


def test_expected_loss_equals_integral_of_normal_posterior(rng: np.random.Generator) -> None:
    n = rng.integers(100, 10_000, 200).astype(float)
    m = rng.normal(10, 1, 200)
    control = ArmStats(n, m * n, (25 + m**2) * n)
    variant = ArmStats(n, 1.01 * m * n, (25 + (1.01 * m) ** 2) * n)
    res = bayesian_summary(control, variant, kind="mean", relative=False)
    freq = compare(control, variant, kind="mean")
    np.testing.assert_allclose(res.effect, freq.abs_effect)
    for i in range(0, 200, 10):
        mu, s = res.effect[i], res.se[i]
        loss = integrate.quad(
            lambda x, mu=mu, s=s: -x * stats.norm.pdf(x, mu, s), -np.inf, 0.0, epsabs=1e-15, epsrel=1e-10
        )[0]
        assert res.expected_loss[i] == pytest.approx(loss, rel=1e-6, abs=1e-14)
        assert res.prob_beat_control[i] == pytest.approx(stats.norm.sf(0, mu, s), rel=1e-9)
        assert res.ci_low[i] == pytest.approx(stats.norm.ppf(0.025, mu, s), rel=1e-9)


def test_degenerate_rows_have_reasons(warnings_as_errors: None) -> None:
    control = ArmStats([100, 100, 0], [0, 100, 0], [0, 100, 0])
    variant = ArmStats([100, 100, 10], [0, 100, 1], [0, 100, 1])
    res = bayesian_summary(control, variant, kind="proportion")
    assert np.isnan(res.prob_beat_control).all()
    assert all(r != "" for r in res.reason)
    assert "control mean is 0" in res.reason[0]
    assert "zero variance in both arms" in res.reason[1]
    assert "control has fewer than 2 units" in res.reason[2]
