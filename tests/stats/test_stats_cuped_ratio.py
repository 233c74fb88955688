"""CUPED on ratio metrics: the regression-adjusted delta method with pre-period numerator and denominator.

References: OLS (statsmodels) on the linearised unit values, and tea-tasting's ``RatioOfMeans`` with
``numer_covariate``/``denom_covariate`` re-derived here from its documented formula (θ from both arms' data
pooled, adjusted ratio R − θ(R_x − R_x,total)). Simulation: coverage of the relative interval and the
variance reduction.
"""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from ratio_world import arm_stats, units

from exptrack_pipeline.stats import ArmStats, compare, compare_cuped


def _linearised(y, d, x, w):
    r, r_x = y.sum() / d.sum(), x.sum() / w.sum()
    return r + (y - r * d) / d.mean(), r_x + (x - r_x * w) / w.mean()


def test_effect_and_theta_equal_ols_on_linearised_values(rng: np.random.Generator) -> None:
    for _ in range(25):
        n_c, n_v = rng.integers(200, 3000, 2)
        c, v = units(rng, n_c), units(rng, n_v, lift=0.1)
        res = compare_cuped(ArmStats.from_samples(c[0], c[1], c[2], c[3]), arm_stats(*v), kind="ratio")
        (l_c, lx_c), (l_v, lx_v) = _linearised(*c), _linearised(*v)
        ell, ell_x = np.r_[l_c, l_v], np.r_[lx_c, lx_v]
        treat = np.r_[np.zeros(n_c), np.ones(n_v)]
        fit = sm.OLS(ell, np.column_stack([np.ones_like(ell), treat, ell_x - ell_x.mean()])).fit(cov_type="HC2")
        assert res.abs_effect == pytest.approx(fit.params[1], rel=1e-8)
        assert res.theta == pytest.approx(fit.params[2], rel=1e-8)
        assert res.abs_se == pytest.approx(fit.bse[1], rel=0.03)
        assert str(res.method) == "delta_ratio_z+cuped" and str(res.reason) == ""


def _tea_tasting_style(c, v) -> tuple[float, float]:
    """Δ and SE as tea-tasting's RatioOfMeans computes them: θ = ratio_cov/ratio_var of both arms pooled,
    arm value R − θ(R_x − Σx_all/Σw_all), arm variance var + θ² var_x − 2θ cov (per-unit, ddof 1) over n."""

    def ratio_cov(a_num, a_den, b_num, b_den):
        ma, mb = a_num.mean() / a_den.mean(), b_num.mean() / b_den.mean()
        grad_a = np.array([1 / a_den.mean(), -ma / a_den.mean()])
        grad_b = np.array([1 / b_den.mean(), -mb / b_den.mean()])
        cov = np.cov(np.vstack([a_num, a_den, b_num, b_den]), ddof=1)
        return grad_a @ cov[:2, 2:] @ grad_b

    total = [np.r_[a, b] for a, b in zip(c, v, strict=True)]
    y, d, x, w = total
    theta = ratio_cov(y, d, x, w) / ratio_cov(x, w, x, w)
    x_mean = x.mean() / w.mean()
    means, variances = [], []
    for yy, dd, xx, ww in (c, v):
        means.append(yy.mean() / dd.mean() - theta * (xx.mean() / ww.mean() - x_mean))
        var = ratio_cov(yy, dd, yy, dd) + theta**2 * ratio_cov(xx, ww, xx, ww) - 2 * theta * ratio_cov(yy, dd, xx, ww)
        variances.append(var / yy.size)
    return means[1] - means[0], float(np.sqrt(sum(variances)))


def test_agrees_with_tea_tasting_formula(rng: np.random.Generator) -> None:
    """tea-tasting pools θ over both arms' raw data, exptrack within arms: equal up to the lift's share of θ."""
    for lift in (0.0, 0.05):
        c, v = units(rng, 20_000), units(rng, 20_000, lift=lift)
        res = compare_cuped(arm_stats(*c), arm_stats(*v), kind="ratio")
        effect, se = _tea_tasting_style(c, v)
        assert res.abs_se == pytest.approx(se, rel=0.01)
        assert abs(float(res.abs_effect) - effect) < 0.05 * se


@pytest.mark.parametrize("lift", [0.0, 0.2])
def test_relative_interval_covers_and_variance_shrinks(rng: np.random.Generator, lift: float) -> None:
    reps, n = 2000, 800
    control = arm_stats(*units(rng, (reps, n)), axis=1)
    variant = arm_stats(*units(rng, (reps, n), lift=lift), axis=1)
    plain = compare(control, variant, kind="ratio", relative="fieller")
    adjusted = compare_cuped(control, variant, kind="ratio", relative="fieller")
    noise = 3 * np.sqrt(0.05 * 0.95 / reps)
    covered = (adjusted.rel_lift_ci_low <= lift) & (lift <= adjusted.rel_lift_ci_high)
    assert abs(np.mean(covered) - 0.95) < noise
    true_effect = np.mean(plain.mean_control) * lift
    abs_covered = (adjusted.abs_ci_low <= true_effect) & (true_effect <= adjusted.abs_ci_high)
    assert abs(np.mean(abs_covered) - 0.95) < noise + 0.005  # the true Δ is itself estimated
    # the reported reduction is what really happens to the spread of the estimates
    realised = 1 - np.var(adjusted.abs_effect) / np.var(plain.abs_effect)
    assert np.mean(adjusted.variance_reduction) == pytest.approx(realised, abs=0.05)
    assert np.mean(adjusted.variance_reduction) > 0.2
    assert np.std(adjusted.abs_effect) == pytest.approx(np.mean(adjusted.abs_se), rel=0.06)


def test_ratio_without_pre_period_denominator_is_unadjusted(warnings_as_errors: None) -> None:
    y, d, x, w = units(np.random.default_rng(1), 500)
    full = arm_stats(y, d, x, np.zeros_like(w))
    res = compare_cuped(full, full, kind="ratio")
    assert np.isnan(res.theta) and str(res.reason) == "no covariate: CUPED not applied"
    assert res.p_value == compare(full, full, kind="ratio").p_value
    only_x = ArmStats.from_samples(y, d, x)
    res = compare_cuped(only_x, only_x, kind="ratio")
    assert "no pre-period numerator and denominator" in str(res.reason) and str(res.method) == "delta_ratio_z"
