"""compare_cuped(): agreement with OLS and the sqrt(1 − ρ²) interval shrinkage."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from exptrack_pipeline.stats import ArmStats, compare, compare_cuped


def _arm(y: np.ndarray, x: np.ndarray) -> ArmStats:
    return ArmStats.from_samples(y, x=x)


def _correlated(rng: np.random.Generator, n: int, rho: float, shift: float = 0.0):
    x = rng.normal(10.0, 2.0, n)
    y = 5.0 + shift + rho * (x - 10.0) / 2.0 * 3.0 + np.sqrt(1 - rho**2) * 3.0 * rng.normal(size=n)
    return y, x


@pytest.mark.parametrize("kind", ["mean", "proportion"])
def test_effect_and_theta_equal_ols_with_treatment_dummy(rng: np.random.Generator, kind: str) -> None:
    for _ in range(40):
        n_c, n_v = rng.integers(50, 2000, 2)
        if kind == "mean":
            (y_c, x_c), (y_v, x_v) = _correlated(rng, n_c, 0.6), _correlated(rng, n_v, 0.6, shift=0.3)
        else:
            x_c, x_v = rng.binomial(1, 0.3, n_c).astype(float), rng.binomial(1, 0.3, n_v).astype(float)
            y_c = rng.binomial(1, 0.1 + 0.3 * x_c).astype(float)
            y_v = rng.binomial(1, 0.12 + 0.3 * x_v).astype(float)
        res = compare_cuped(_arm(y_c, x_c), _arm(y_v, x_v), kind=kind)
        y = np.r_[y_c, y_v]
        x = np.r_[x_c, x_v]
        treat = np.r_[np.zeros(n_c), np.ones(n_v)]
        fit = sm.OLS(y, np.column_stack([np.ones_like(y), treat, x - x.mean()])).fit(cov_type="HC2")
        assert res.abs_effect == pytest.approx(fit.params[1], rel=1e-8, abs=1e-12)
        assert res.theta == pytest.approx(fit.params[2], rel=1e-8)
        # CUPED uses per-arm residual variances with θ treated as known: close to HC2, not equal.
        assert res.abs_se == pytest.approx(fit.bse[1], rel=0.03)
        assert str(res.method) == ("welch_t+cuped" if kind == "mean" else "z_unpooled+cuped")


def test_se_matches_heteroskedastic_ols_for_balanced_arms(rng: np.random.Generator) -> None:
    """With θ fixed, Var(Δ_adj) = Σ_a Var(Y − θX)_a/n_a, which HC2 OLS errors estimate too."""
    (y_c, x_c), (y_v, x_v) = _correlated(rng, 5000, 0.7), _correlated(rng, 5000, 0.7, 0.1)
    res = compare_cuped(_arm(y_c, x_c), _arm(y_v, x_v), kind="mean")
    y, x = np.r_[y_c, y_v], np.r_[x_c, x_v]
    treat = np.r_[np.zeros(5000), np.ones(5000)]
    fit = sm.OLS(y, np.column_stack([np.ones_like(y), treat, x - x.mean()])).fit(cov_type="HC2")
    assert res.abs_se == pytest.approx(fit.bse[1], rel=2e-3)


@pytest.mark.parametrize("rho", [0.3, 0.6, 0.9])
def test_interval_shrinks_by_sqrt_one_minus_rho_squared(rng: np.random.Generator, rho: float) -> None:
    reps, n = 1000, 1000
    x = rng.normal(10.0, 2.0, (2, reps, n))
    y = 5.0 + rho * 1.5 * (x - 10.0) + np.sqrt(1 - rho**2) * 3.0 * rng.normal(size=(2, reps, n))
    arms = [
        ArmStats(
            n,
            y[a].sum(1),
            (y[a] ** 2).sum(1),
            sum_x=x[a].sum(1),
            sum_x_sq=(x[a] ** 2).sum(1),
            sum_xy=(x[a] * y[a]).sum(1),
        )
        for a in (0, 1)
    ]
    plain = compare(arms[0], arms[1], kind="mean")
    adjusted = compare_cuped(arms[0], arms[1], kind="mean")
    expected = np.sqrt(1 - rho**2)
    width_ratio = (adjusted.abs_ci_high - adjusted.abs_ci_low) / (plain.abs_ci_high - plain.abs_ci_low)
    assert np.mean(width_ratio) == pytest.approx(expected, rel=0.02)
    assert np.mean(adjusted.variance_reduction) == pytest.approx(rho**2, abs=0.01)
    # the reported SE is honest: the adjusted estimates really spread that much less (A/A)
    assert np.std(adjusted.abs_effect) / np.std(plain.abs_effect) == pytest.approx(expected, rel=0.06)
    fpr = np.mean(adjusted.p_value < 0.05)
    assert abs(fpr - 0.05) < 3 * np.sqrt(0.05 * 0.95 / reps)


def test_relative_lift_uses_adjusted_means(rng: np.random.Generator) -> None:
    (y_c, x_c), (y_v, x_v) = _correlated(rng, 3000, 0.8), _correlated(rng, 3000, 0.8, 0.5)
    res = compare_cuped(_arm(y_c, x_c), _arm(y_v, x_v), kind="mean")
    x_bar = np.r_[x_c, x_v].mean()
    theta = float(res.theta)
    m_c = y_c.mean() - theta * (x_c.mean() - x_bar)
    m_v = y_v.mean() - theta * (x_v.mean() - x_bar)
    assert res.rel_lift == pytest.approx(m_v / m_c - 1, rel=1e-9)
    assert res.mean_control == pytest.approx(m_c, rel=1e-10)
    assert res.rel_se < compare(_arm(y_c, x_c), _arm(y_v, x_v), kind="mean").rel_se


def test_zero_covariate_variance_falls_back_to_unadjusted(warnings_as_errors: None) -> None:
    control = ArmStats([100, 100], [10, 50], [10, 50], sum_x=[100, 7], sum_x_sq=[100, 7], sum_xy=[10, 4])
    variant = ArmStats([100, 100], [12, 55], [12, 55], sum_x=[100, 9], sum_x_sq=[100, 9], sum_xy=[12, 5])
    res = compare_cuped(control, variant, kind="proportion")
    plain = compare(control, variant, kind="proportion")
    assert res.p_value[0] == plain.p_value[0] and res.theta[0] == 0.0
    assert res.reason[0] == "zero covariate variance: CUPED not applied"
    assert res.variance_reduction[0] == 0.0
    assert res.reason[1] == "" and res.theta[1] != 0.0


def test_ratio_and_missing_covariate_are_unadjusted_with_reason() -> None:
    arm = ArmStats(100, 50.0, 40.0, sum_den=120.0, sum_den_sq=200.0, sum_num_den=70.0)
    res = compare_cuped(arm, arm, kind="ratio")
    assert np.isnan(res.theta) and str(res.method) == "delta_ratio_z"
    assert "no pre-period numerator and denominator: CUPED not applied to the ratio" in str(res.reason)
    res = compare_cuped(ArmStats(100, 10, 10), ArmStats(100, 12, 12), kind="proportion")
    assert str(res.reason) == "no covariate: CUPED not applied"
    assert res.p_value == compare(ArmStats(100, 10, 10), ArmStats(100, 12, 12), kind="proportion").p_value


def test_nan_covariate_rows_are_unadjusted_with_reason(warnings_as_errors: None) -> None:
    nan = np.nan
    control = ArmStats([500, 500], [40, 40], [40, 40], sum_x=[nan, 60], sum_x_sq=[nan, 60], sum_xy=[nan, 20])
    variant = ArmStats([500, 500], [55, 55], [55, 55], sum_x=[nan, 62], sum_x_sq=[nan, 62], sum_xy=[nan, 25])
    res = compare_cuped(control, variant, kind="proportion")
    plain = compare(control, variant, kind="proportion")
    assert res.reason[0] == "no covariate: CUPED not applied" and np.isnan(res.theta[0])
    assert res.p_value[0] == plain.p_value[0] and res.method.tolist() == ["z_unpooled", "z_unpooled+cuped"]
    assert res.reason[1] == "" and res.variance_reduction[1] > 0
