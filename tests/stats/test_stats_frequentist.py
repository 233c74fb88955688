"""compare(): unpooled z, Welch t and delta-method ratio against independent references."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as st
from statsmodels.stats.proportion import confint_proportions_2indep
from statsmodels.stats.proportion import test_proportions_2indep as sm_test_proportions_2indep
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW, ttest_ind

from exptrack_pipeline.stats import ArmStats, compare

RTOL = 1e-6

# R: t.test(extra ~ group, data = sleep)  -> t = -1.8608, df = 17.776, p-value = 0.07939
SLEEP_1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
SLEEP_2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]


def test_welch_matches_r_sleep_data() -> None:
    # R reports group1 - group2, so group 2 is the control here.
    res = compare(ArmStats.from_samples(SLEEP_2), ArmStats.from_samples(SLEEP_1), kind="mean")
    assert res.statistic == pytest.approx(-1.8608, abs=5e-5)
    assert res.df == pytest.approx(17.776, abs=5e-4)
    assert res.p_value == pytest.approx(0.07939, abs=5e-6)
    # R: 95 percent confidence interval -3.3654832  0.2054832
    assert res.abs_ci_low == pytest.approx(-3.3654832, abs=1e-7)
    assert res.abs_ci_high == pytest.approx(0.2054832, abs=1e-7)
    assert res.method == "welch_t"


def _random_mean_rows(rng: np.random.Generator, rows: int):
    n_c = rng.integers(2, 400, rows)
    n_v = rng.integers(2, 400, rows)
    samples_c = [rng.normal(rng.uniform(-5, 5), rng.uniform(0.1, 10), k) for k in n_c]
    samples_v = [rng.normal(rng.uniform(-5, 5), rng.uniform(0.1, 10), k) for k in n_v]
    return samples_c, samples_v


def _stack(samples: list[np.ndarray]) -> ArmStats:
    return ArmStats(n=[len(s) for s in samples], sum=[s.sum() for s in samples], sum_sq=[(s**2).sum() for s in samples])


def test_welch_matches_scipy_and_statsmodels_on_random_rows(rng: np.random.Generator) -> None:
    samples_c, samples_v = _random_mean_rows(rng, 300)
    alpha = rng.uniform(0.01, 0.2, 300)
    res = compare(_stack(samples_c), _stack(samples_v), kind="mean", alpha=alpha)
    ref = st.ttest_ind_from_stats(
        mean1=np.array([s.mean() for s in samples_v]),
        std1=np.array([s.std(ddof=1) for s in samples_v]),
        nobs1=np.array([len(s) for s in samples_v]),
        mean2=np.array([s.mean() for s in samples_c]),
        std2=np.array([s.std(ddof=1) for s in samples_c]),
        nobs2=np.array([len(s) for s in samples_c]),
        equal_var=False,
    )
    np.testing.assert_allclose(res.statistic, ref.statistic, rtol=RTOL)
    np.testing.assert_allclose(res.p_value, ref.pvalue, rtol=RTOL)
    for i in range(0, 300, 5):  # raw-sample reference (slower): every 5th row
        t, p, df = ttest_ind(samples_v[i], samples_c[i], usevar="unequal")
        low, high = CompareMeans(DescrStatsW(samples_v[i]), DescrStatsW(samples_c[i])).tconfint_diff(
            alpha=alpha[i], usevar="unequal"
        )
        np.testing.assert_allclose([res.statistic[i], res.p_value[i], res.df[i]], [t, p, df], rtol=RTOL)
        np.testing.assert_allclose([res.abs_ci_low[i], res.abs_ci_high[i]], [low, high], rtol=RTOL, atol=1e-12)


def _random_proportion_rows(rng: np.random.Generator, rows: int):
    n_c = rng.integers(20, 50_000, rows).astype(float)
    n_v = rng.integers(20, 50_000, rows).astype(float)
    c_c = rng.binomial(n_c.astype(int), rng.uniform(0.01, 0.9, rows)).astype(float)
    c_v = rng.binomial(n_v.astype(int), rng.uniform(0.01, 0.9, rows)).astype(float)
    return n_c, c_c, n_v, c_v


def _cochran_gated(n_c, c_c, n_v, c_v) -> np.ndarray:
    """Rows where a 2×2 cell expects fewer than 5 counts under H0 (Cochran 1954): no normal test there."""
    pooled = (c_c + c_v) / (n_c + n_v)
    expected = np.stack([n_c * pooled, n_c * (1 - pooled), n_v * pooled, n_v * (1 - pooled)])
    return expected.min(axis=0) < 5


def test_unpooled_z_matches_statsmodels_wald(rng: np.random.Generator) -> None:
    n_c, c_c, n_v, c_v = _random_proportion_rows(rng, 300)
    res = compare(ArmStats(n_c, c_c, c_c), ArmStats(n_v, c_v, c_v), kind="proportion", alpha=0.1)
    gated = _cochran_gated(n_c, c_c, n_v, c_v)
    assert gated.any() and not gated.all()
    assert np.isnan(res.p_value[gated]).all() and all("expected conversions" in r for r in res.reason[gated])
    for i in np.flatnonzero(~gated):
        ref = sm_test_proportions_2indep(c_v[i], n_v[i], c_c[i], n_c[i], method="wald", compare="diff")
        np.testing.assert_allclose(
            [res.statistic[i], res.p_value[i]], [ref.statistic, ref.pvalue], rtol=RTOL, atol=1e-300
        )
    low, high = confint_proportions_2indep(c_v, n_v, c_c, n_c, method="wald", compare="diff", alpha=0.1)
    np.testing.assert_allclose(res.abs_ci_low[~gated], low[~gated], rtol=RTOL)
    np.testing.assert_allclose(res.abs_ci_high[~gated], high[~gated], rtol=RTOL)
    assert set(res.method) == {"z_unpooled"} and set(res.df) == {np.inf}


def test_log_relative_interval_matches_statsmodels_log_ratio(rng: np.random.Generator) -> None:
    n_c, c_c, n_v, c_v = _random_proportion_rows(rng, 300)
    res = compare(ArmStats(n_c, c_c, c_c), ArmStats(n_v, c_v, c_v), kind="proportion", relative="log")
    low, high = confint_proportions_2indep(c_v, n_v, c_c, n_c, method="log", compare="ratio")
    ok = ~_cochran_gated(n_c, c_c, n_v, c_v)
    np.testing.assert_allclose(res.rel_lift_ci_low[ok], low[ok] - 1.0, rtol=RTOL)
    np.testing.assert_allclose(res.rel_lift_ci_high[ok], high[ok] - 1.0, rtol=RTOL)
    np.testing.assert_allclose(res.rel_lift, (c_v / n_v) / (c_c / n_c) - 1.0, rtol=1e-12)


def test_delta_relative_se_matches_numerical_gradient(rng: np.random.Generator) -> None:
    """Delta method = gradient' Σ gradient with the gradient of m_v/m_c − 1 taken numerically."""
    samples_c, samples_v = _random_mean_rows(rng, 200)
    res = compare(_stack(samples_c), _stack(samples_v), kind="mean")
    for i in range(200):
        mc, mv = samples_c[i].mean(), samples_v[i].mean()
        if mc < 0:  # a relative lift against a negative control mean is undefined
            assert np.isnan(res.rel_se[i]) and "control mean is negative" in res.reason[i]
            continue
        cov = np.diag([samples_c[i].var(ddof=1) / len(samples_c[i]), samples_v[i].var(ddof=1) / len(samples_v[i])])
        h = 1e-6 * max(abs(mc), abs(mv))
        f = lambda a, b: b / a - 1.0  # noqa: E731
        grad = np.array([(f(mc + h, mv) - f(mc - h, mv)) / (2 * h), (f(mc, mv + h) - f(mc, mv - h)) / (2 * h)])
        assert res.rel_se[i] == pytest.approx(np.sqrt(grad @ cov @ grad), rel=1e-5)
        q = st.t.ppf(0.975, res.df[i])
        assert res.rel_lift_ci_low[i] == pytest.approx(mv / mc - 1 - q * res.rel_se[i], rel=1e-9, abs=1e-12)


def _ratio_rows(rng: np.random.Generator, rows: int):
    """Per-unit (y, d): sessions d ~ 1 + Poisson, revenue y correlated with d."""
    out = []
    for _ in range(rows):
        n = int(rng.integers(5, 3000))
        d = 1.0 + rng.poisson(rng.uniform(0.5, 5.0), n)
        y = rng.gamma(2.0, rng.uniform(0.5, 3.0), n) * d * rng.uniform(0.2, 1.0) + rng.normal(0, 1, n)
        out.append((y, d))
    return out


def test_ratio_delta_method_matches_raw_data_covariance(rng: np.random.Generator) -> None:
    control, variant = _ratio_rows(rng, 200), _ratio_rows(rng, 200)

    def stats(rows):
        return ArmStats(
            n=[len(y) for y, _ in rows],
            sum=[y.sum() for y, _ in rows],
            sum_sq=[(y * y).sum() for y, _ in rows],
            sum_den=[d.sum() for _, d in rows],
            sum_den_sq=[(d * d).sum() for _, d in rows],
            sum_num_den=[(y * d).sum() for y, d in rows],
        )

    def var_ratio(y: np.ndarray, d: np.ndarray) -> float:
        # Var(ȳ/d̄) ≈ ∇ᵀ Cov(ȳ, d̄) ∇ with ∇ = (1/d̄, −ȳ/d̄²) and Cov(ȳ, d̄) = np.cov / n
        cov = np.cov(np.vstack([y, d]), ddof=1) / len(y)
        grad = np.array([1 / d.mean(), -y.mean() / d.mean() ** 2])
        return float(grad @ cov @ grad)

    res = compare(stats(control), stats(variant), kind="ratio")
    se = np.sqrt([var_ratio(*c) + var_ratio(*v) for c, v in zip(control, variant, strict=True)])
    diff = [v[0].sum() / v[1].sum() - c[0].sum() / c[1].sum() for c, v in zip(control, variant, strict=True)]
    np.testing.assert_allclose(res.abs_effect, diff, rtol=1e-9)
    np.testing.assert_allclose(res.abs_se, se, rtol=RTOL)
    np.testing.assert_allclose(res.p_value, 2 * st.norm.sf(np.abs(np.array(diff) / se)), rtol=RTOL, atol=1e-300)
    assert set(res.method) == {"delta_ratio_z"}


def test_ratio_delta_se_matches_simulated_spread(rng: np.random.Generator) -> None:
    """Across 4,000 replicate experiments the SD of the ratio difference ≈ the mean delta SE."""
    reps, n = 4000, 400
    arms = []
    for scale in (1.0, 1.1):
        d = 1.0 + rng.poisson(2.0, (reps, n))
        y = rng.gamma(2.0, scale, (reps, n)) * d
        arms.append(ArmStats(n, y.sum(1), (y * y).sum(1), d.sum(1), (d * d).sum(1), (y * d).sum(1)))
    res = compare(arms[0], arms[1], kind="ratio")
    assert np.std(res.abs_effect, ddof=1) == pytest.approx(np.mean(res.abs_se), rel=0.05)
    covered = (res.abs_ci_low <= 0.2) & (res.abs_ci_high >= 0.2)  # true difference 2·(1.1 − 1.0)
    assert abs(covered.mean() - 0.95) < 3 * np.sqrt(0.95 * 0.05 / reps)


def test_relative_delta_interval_covers_at_nominal_rate(rng: np.random.Generator) -> None:
    reps, n, p_c, p_v = 4000, 5000, 0.10, 0.12
    c = rng.binomial(n, p_c, reps).astype(float)
    v = rng.binomial(n, p_v, reps).astype(float)
    for relative in ("delta", "log"):
        res = compare(ArmStats(n, c, c), ArmStats(n, v, v), kind="proportion", relative=relative)
        covered = (res.rel_lift_ci_low <= 0.2) & (res.rel_lift_ci_high >= 0.2)
        assert abs(covered.mean() - 0.95) < 3 * np.sqrt(0.95 * 0.05 / reps)


@pytest.mark.parametrize("kind", ["proportion", "mean"])
def test_fixed_horizon_false_positive_rate_is_alpha(rng: np.random.Generator, kind: str) -> None:
    reps, n, alpha = 20_000, 2000, 0.05
    if kind == "proportion":
        c, v = (rng.binomial(n, 0.05, reps).astype(float) for _ in range(2))
        control, variant = ArmStats(n, c, c), ArmStats(n, v, v)
    else:  # exact sufficient statistics of n iid N(3, 2²) draws
        arms = []
        for _ in range(2):
            mean = rng.normal(3.0, 2.0 / np.sqrt(n), reps)
            ss = 4.0 * rng.chisquare(n - 1, reps) + n * mean**2
            arms.append(ArmStats(n, n * mean, ss))
        control, variant = arms
    rate = (compare(control, variant, kind=kind, alpha=alpha).p_value < alpha).mean()
    assert abs(rate - alpha) < 3 * np.sqrt(alpha * (1 - alpha) / reps)


def test_scalars_broadcast_against_rows() -> None:
    control = ArmStats(n=1000, sum=100, sum_sq=100)
    variant = ArmStats(n=[1000, 1000, 1000], sum=[100, 120, 140], sum_sq=[100, 120, 140])
    res = compare(control, variant, kind="proportion", alpha=[0.05, 0.05, 0.01])
    assert res.p_value.shape == res.method.shape == res.reason.shape == (3,)
    assert res.p_value[0] == 1.0 and res.abs_effect[0] == 0.0
    assert res.abs_ci_high[2] - res.abs_ci_low[2] == pytest.approx(
        2 * st.norm.ppf(0.995) * np.sqrt(0.1 * 0.9 / 1000 + 0.14 * 0.86 / 1000)
    )


def test_rejects_unknown_kind_and_relative() -> None:
    arm = ArmStats(10, 5, 5)
    with pytest.raises(ValueError):
        compare(arm, arm, kind="median")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        compare(arm, arm, kind="proportion", relative="ratio")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        compare(arm, arm, kind="ratio")
