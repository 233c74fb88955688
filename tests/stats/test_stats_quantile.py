"""Quantile metrics: order-statistic standard errors against analytic and bootstrap references, and by simulation.

References independent of the code: the asymptotic variance ν(1 − ν)/(n f(Q)²) of a sample quantile
(Serfling 1980, §2.3.3) for distributions with a known density; numpy's quantile (type 7) for the estimate; a
cluster bootstrap for event-level data; and coverage / type-I error of the intervals in seeded simulations.
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest
from scipy.stats import norm

from exptrack_pipeline.stats import ArmStats, QuantileArmStats, compare, compare_sequential
from exptrack_pipeline.stats.quantile import MISSING_INPUTS, arm_quantile_variance

NOISE = 3.0  # simulation tolerance in binomial standard errors


def _stack(arms: list[QuantileArmStats]) -> QuantileArmStats:
    """Many single-row arms as one vectorised arm (one result row each)."""
    values = {f.name: np.array([getattr(a, f.name) for a in arms], dtype=float) for f in fields(QuantileArmStats)}
    return QuantileArmStats(**values)


def _clustered_sample(rng: np.random.Generator, units: int, scale: float = 1.0):
    """Event values exp(u_i + e_ij): unit effect u ~ N(0, 0.6²), event noise e ~ N(0, 0.8²), 1 + Poisson(3) events.

    The number of events is independent of the values, so events are marginally lognormal(0, 1) × scale.
    """
    counts = 1 + rng.poisson(3.0, units)
    unit_of_event = np.repeat(np.arange(units), counts)
    values = scale * np.exp(rng.normal(0, 0.6, units)[unit_of_event] + rng.normal(0, 0.8, unit_of_event.size))
    return values, unit_of_event


def test_estimate_and_bounds_are_type7_quantiles(rng: np.random.Generator) -> None:
    y = rng.exponential(1.0, 501)
    arm = QuantileArmStats.from_observations(y, 0.9)
    half = norm.ppf(0.975) * np.sqrt(0.9 * 0.1 / 501)
    assert float(arm.quantile) == pytest.approx(np.percentile(y, 90, method="linear"))
    assert float(arm.quantile_lower) == pytest.approx(np.percentile(y, 100 * (0.9 - half), method="linear"))
    assert float(arm.quantile_upper) == pytest.approx(np.percentile(y, 100 * (0.9 + half), method="linear"))


@pytest.mark.parametrize(("level", "rel"), [(0.5, 0.06), (0.9, 0.06), (0.99, 0.15)])
def test_unit_level_variance_matches_the_asymptotic_formula(rng: np.random.Generator, level: float, rel: float) -> None:
    # Exp(1): Q = −ln(1 − ν), f(Q) = 1 − ν, so n·Var(Q̂) → ν(1 − ν)/(1 − ν)² = ν/(1 − ν). At p99 only ~40 of the 4,000
    # observations lie above Q and the density falls across [Y_L, Y_U]: the estimate is ~10 % high (conservative).
    n = 4000
    variances = [
        float(arm_quantile_variance(QuantileArmStats.from_observations(rng.exponential(1.0, n), level)))
        for _ in range(200)
    ]
    assert np.mean(variances) * n == pytest.approx(level / (1 - level), rel=rel)


def test_clustered_variance_matches_a_cluster_bootstrap(rng: np.random.Generator) -> None:
    values, units = _clustered_sample(rng, 3000)
    arm = QuantileArmStats.from_observations(values, 0.9, units=units)
    starts = np.r_[0, np.flatnonzero(np.diff(units)) + 1]
    stops = np.r_[starts[1:], units.size]
    boot = []
    for _ in range(400):
        pick = rng.integers(0, starts.size, starts.size)
        sample = np.concatenate([values[a:b] for a, b in zip(starts[pick], stops[pick], strict=True)])
        boot.append(np.quantile(sample, 0.9))
    assert np.sqrt(float(arm_quantile_variance(arm))) == pytest.approx(np.std(boot, ddof=1), rel=0.15)
    iid = QuantileArmStats.from_observations(values, 0.9)
    assert float(arm_quantile_variance(arm)) > 1.3 * float(arm_quantile_variance(iid))  # clustering matters here


def test_duplicated_observations_count_once_when_clustered(rng: np.random.Generator) -> None:
    # every unit repeats one value 5 times: the event-level quantile carries the information of the units only
    ratios = []
    for _ in range(30):
        y = rng.normal(10, 2, 3000)
        events = np.repeat(y, 5)
        clustered = QuantileArmStats.from_observations(events, 0.75, units=np.repeat(np.arange(y.size), 5))
        per_unit = QuantileArmStats.from_observations(y, 0.75)
        ratios.append(float(arm_quantile_variance(clustered)) / float(arm_quantile_variance(per_unit)))
    assert np.mean(ratios) == pytest.approx(1.0, abs=0.05)


def _coverage(rng, make_arm, truth_diff: float, sims: int = 1000) -> tuple[float, float]:
    control, variant = zip(*(make_arm(rng) for _ in range(sims)), strict=True)
    res = compare(_stack(list(control)), _stack(list(variant)), kind="quantile", alpha=0.05)
    covered = (res.abs_ci_low <= truth_diff) & (truth_diff <= res.abs_ci_high)
    assert not np.isnan(res.p_value).any()
    return float(covered.mean()), float((res.p_value < 0.05).mean())


def _within_noise(rate: float, nominal: float, sims: int = 1000) -> bool:
    return abs(rate - nominal) <= NOISE * np.sqrt(nominal * (1 - nominal) / sims)


def test_unit_level_interval_covers_and_aa_rejects_at_nominal_rate(rng: np.random.Generator) -> None:
    q90 = np.exp(norm.ppf(0.9))  # lognormal(0, 1)

    def shifted(r):
        return (
            QuantileArmStats.from_observations(r.lognormal(0, 1, 1500), 0.9),
            QuantileArmStats.from_observations(1.1 * r.lognormal(0, 1, 1500), 0.9),
        )

    def aa(r):
        return (
            QuantileArmStats.from_observations(r.lognormal(0, 1, 1500), 0.9),
            QuantileArmStats.from_observations(r.lognormal(0, 1, 1500), 0.9),
        )

    coverage, _ = _coverage(rng, shifted, 0.1 * q90)
    assert _within_noise(coverage, 0.95), coverage
    _, type_one = _coverage(rng, aa, 0.0)
    assert _within_noise(type_one, 0.05), type_one


def test_event_level_interval_needs_the_cluster_adjustment(rng: np.random.Generator) -> None:
    q90 = np.exp(norm.ppf(0.9))  # events are marginally lognormal(0, 1)

    def arms(r, clustered: bool, scale: float):
        out = []
        for s in (1.0, scale):
            values, units = _clustered_sample(r, 800, s)
            out.append(QuantileArmStats.from_observations(values, 0.9, units=units if clustered else None))
        return tuple(out)

    coverage, _ = _coverage(rng, lambda r: arms(r, True, 1.1), 0.1 * q90)
    assert _within_noise(coverage, 0.95), coverage
    _, type_one = _coverage(rng, lambda r: arms(r, True, 1.0), 0.0)
    assert _within_noise(type_one, 0.05), type_one
    naive, _ = _coverage(rng, lambda r: arms(r, False, 1.1), 0.1 * q90, sims=300)
    assert naive < 0.9  # treating clustered events as independent undercovers


def test_relative_interval_covers(rng: np.random.Generator) -> None:
    control, variant = zip(
        *(
            (
                QuantileArmStats.from_observations(rng.exponential(1.0, 2000), 0.5),
                QuantileArmStats.from_observations(rng.exponential(1.25, 2000), 0.5),
            )
            for _ in range(1000)
        ),
        strict=True,
    )
    res = compare(_stack(list(control)), _stack(list(variant)), kind="quantile", relative="fieller")
    covered = (res.rel_lift_ci_low <= 0.25) & (res.rel_lift_ci_high >= 0.25)
    assert _within_noise(float(covered.mean()), 0.95), covered.mean()
    assert set(res.method) == {"quantile_order_stat_z"}


def test_method_names_event_level_and_sequential() -> None:
    y = np.arange(1.0, 401.0)
    units = np.repeat(np.arange(200), 2)
    c = QuantileArmStats.from_observations(y, 0.5, units=units)
    res = compare(c, c, kind="quantile")
    assert res.method[()] == "quantile_order_stat_cluster_z"
    seq = compare_sequential(c, c, kind="quantile")
    assert str(seq.method[()]) == "quantile_order_stat_cluster_z+sequential"
    assert seq.abs_ci_high[()] - seq.abs_ci_low[()] > res.abs_ci_high[()] - res.abs_ci_low[()]


def test_too_few_observations_and_ties_give_nan_with_reasons() -> None:
    small = QuantileArmStats.from_observations(np.arange(1.0, 31.0), 0.99)  # 0.99 + 1.96·√(0.0099/30) > 1
    ok = QuantileArmStats.from_observations(np.arange(1.0, 1001.0), 0.99)
    res = compare(small, ok, kind="quantile")
    assert np.isnan(res.p_value[()])
    assert "control has too few observations for a quantile interval" in str(res.reason[()])
    tied = QuantileArmStats.from_observations(np.r_[np.zeros(900), np.arange(1.0, 101.0)], 0.5)
    res = compare(tied, tied, kind="quantile")
    assert np.isnan(res.p_value[()]) and "tied values around the quantile" in str(res.reason[()])


def test_plain_sums_give_nan_with_a_reason_not_an_error() -> None:
    arm = ArmStats.from_samples([1.0, 2.0, 3.0])
    res = compare(arm, arm, kind="quantile")
    assert np.isnan(res.abs_effect[()]) and str(res.reason[()]) == MISSING_INPUTS


def test_always_valid_test_keeps_type_one_error_under_daily_looks(rng: np.random.Generator) -> None:
    # A/A, 10 looks at cumulative data (300 units per arm per look): any-look rejection stays below alpha
    sims, looks, per_look = 300, 10, 300
    control, variant = [], []
    for _ in range(sims):
        yc, yv = rng.lognormal(0, 1, looks * per_look), rng.lognormal(0, 1, looks * per_look)
        for k in range(1, looks + 1):
            control.append(QuantileArmStats.from_observations(yc[: k * per_look], 0.9))
            variant.append(QuantileArmStats.from_observations(yv[: k * per_look], 0.9))
    seq = compare_sequential(_stack(control), _stack(variant), kind="quantile", alpha=0.05)
    fixed = compare(_stack(control), _stack(variant), kind="quantile", alpha=0.05)
    seq_any = (seq.p_value.reshape(sims, looks) < 0.05).any(axis=1).mean()
    naive_any = (fixed.p_value.reshape(sims, looks) < 0.05).any(axis=1).mean()
    assert seq_any <= 0.05 + NOISE * np.sqrt(0.05 * 0.95 / sims), seq_any
    assert naive_any > 0.1  # peeking at the fixed-horizon test inflates it
