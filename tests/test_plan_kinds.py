"""`exptrack plan` and the sample-size check for every metric kind: ratio, retention and CUPED-adjusted plans,
checked against statsmodels and, for ρ², against the unit-level pre-period values in the demo warehouse."""

from __future__ import annotations

import math
import shutil
from dataclasses import fields
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.power import NormalIndPower
from test_lifecycle_planning import _env

from exptrack_pipeline.cli import main
from exptrack_pipeline.lifecycle import planning
from exptrack_pipeline.stats import QuantileArmStats, compare
from exptrack_pipeline.stats.quantile import quantile_unit_sd

REPO = Path(__file__).resolve().parents[1]


def _normal_ind_n(effect_size: float) -> int:
    return math.ceil(NormalIndPower().solve_power(effect_size=effect_size, alpha=0.05, power=0.8))


def test_ratio_plan_and_its_cuped_size_match_statsmodels() -> None:
    baseline = planning.Baseline(2.0, "ratio", 5.0, "test", variance_reduction=0.4)
    plan = planning.make_plan("ctr", baseline, 0.05, daily_units=1000.0)
    assert abs(plan.n_smallest_arm - _normal_ind_n(0.1 / 5.0)) <= 1
    assert abs(plan.n_smallest_arm_cuped - _normal_ind_n(0.1 / (5.0 * math.sqrt(0.6)))) <= 1
    cuped = planning.make_plan("ctr", baseline, 0.05, daily_units=1000.0, cuped=True)
    assert cuped.n_smallest_arm == plan.n_smallest_arm_cuped and cuped.duration_days < plan.duration_days
    text = planning.format_plan(plan, ["control", "treatment"])
    assert "ratio, delta method" in text and f"{plan.n_smallest_arm_cuped:,} units in the smallest arm" in text


def test_retention_plan_waits_for_the_retention_day() -> None:
    baseline = planning.Baseline(0.3, "retention", None, "test", lag_days=7)
    plan = planning.make_plan("d7", baseline, 0.05, daily_units=2000.0)
    assert plan.duration_days == math.ceil(plan.n_smallest_arm / 1000.0) + 7
    assert plan.mde_after(7) is None
    # after 21 days only 14 days of exposures have reached day 7
    p2 = 0.3 * (1 + plan.mde_after(21))
    effect = (p2 - 0.3) / math.sqrt((0.3 * 0.7 + p2 * (1 - p2)) / 2)
    assert NormalIndPower().power(effect, nobs1=14 * 1000.0, alpha=0.05) == pytest.approx(0.8, abs=1e-6)


def test_cuped_plan_needs_a_known_variance_reduction() -> None:
    with pytest.raises(ValueError, match="no CUPED variance reduction known"):
        planning.make_plan("m", planning.Baseline(0.1, "proportion", None, "t"), 0.1, cuped=True)
    text = planning.format_plan(
        planning.make_plan("m", planning.Baseline(0.1, "proportion", None, "t"), 0.1), ["a", "b"]
    )
    assert "variance reduction unknown" in text


def test_baseline_reads_kind_sd_and_rho2_from_warehouse_sums() -> None:
    rng = np.random.default_rng(3)
    d = rng.poisson(3.0, 5000) + 1.0
    w = rng.poisson(3.0, 5000) + 1.0
    rate = rng.gamma(3.0, 1.0, 5000)
    y, x = rng.poisson(d * rate).astype(float), rng.poisson(w * rate).astype(float)
    row = {"n": 5000, "sum": y.sum(), "sum_sq": y @ y, "sum_den": d.sum(), "sum_den_sq": d @ d, "sum_num_den": y @ d}
    row |= {"sum_x": x.sum(), "sum_x_sq": x @ x, "sum_xy": x @ y, "sum_w": w.sum(), "sum_w_sq": w @ w}
    row |= {"sum_xw": x @ w, "sum_xd": x @ d, "sum_wy": w @ y, "sum_wd": w @ d}
    keys = {"experiment_id": "e", "metric_id": "m", "is_control": True, "analysis_date": pd.Timestamp("2026-01-01")}
    frame = pd.DataFrame([keys | row | {"stat_kind": "ratio", "metric_kind": "ratio"}])
    b = planning.baseline_from_stats(frame, "m")
    r, r_x = y.sum() / d.sum(), x.sum() / w.sum()
    lin, lin_x = (y - r * d) / d.mean(), (x - r_x * w) / w.mean()
    assert b.kind == "ratio" and b.value == pytest.approx(r)
    assert b.sd == pytest.approx(lin.std(ddof=1), rel=1e-9)
    assert b.variance_reduction == pytest.approx(np.corrcoef(lin, lin_x)[0, 1] ** 2, rel=1e-9)
    retention = frame.assign(stat_kind="proportion", metric_kind="retention", sum=1500.0, sum_sq=1500.0)
    assert planning.baseline_from_stats(retention, "m", lag_days=7).kind == "retention"


def test_plan_cli_takes_the_kind_from_the_catalog(tmp_path, monkeypatch, capsys) -> None:
    experiments = tmp_path / "experiments"
    experiments.mkdir()
    shutil.copy(REPO / "experiments" / "metrics.yaml", experiments)
    _env(monkeypatch, experiments, tmp_path / "none.duckdb", tmp_path / "out")
    base = ["plan", "--metric", "seconds_per_session", "--mde", "0.05", "--baseline", "300", "--daily-units", "900"]
    assert main(base) == 2
    assert "pass --sd" in capsys.readouterr().err
    assert main([*base, "--sd", "240", "--variance-reduction", "0.3", "--cuped"]) == 0
    out = capsys.readouterr().out
    n = _normal_ind_n(15.0 / (240.0 * math.sqrt(0.7)))
    assert "ratio, delta method" in out and "[CUPED, ρ² 0.30]" in out
    assert f"control {n:,}" in out or f"control {n - 1:,}" in out
    assert main(["plan", "--metric", "d7_retention", "--mde", "0.05", "--baseline", "0.3", "--daily-units", "900"]) == 0
    assert "units count 7 days after exposure" in capsys.readouterr().out


def test_plan_reads_rho2_of_a_ratio_metric_from_the_demo_warehouse(demo_run, monkeypatch, capsys) -> None:
    """ρ² from fct_variant_metric_stats' pre-period sums equals the linearised correlation of the unit values."""
    s = demo_run.settings
    _env(monkeypatch, s.experiments_dir, s.warehouse, s.output_dir)
    assert main(["plan", "--metric", "card_ctr", "--mde", "0.1", "--surface", "home_page"]) == 0
    out = capsys.readouterr().out
    stats = demo_run.query("select * from main.fct_variant_metric_stats where metric_id = 'card_ctr'")
    baseline = planning.baseline_from_stats(stats, "card_ctr")
    last = stats["analysis_date"].max()
    units = demo_run.query(
        "select v.metric_value as y, v.denominator_value as d, v.covariate as x, v.covariate_den as w "
        "from main.int_unit_metric_values v join main.stg_experiments e on v.experiment_id = e.experiment_id "
        "where v.metric_id = 'card_ctr' and v.experiment_id = 'homepage_cards' and v.variant = e.control_variant"
    )
    y, d, x, w = (units[c].to_numpy(float) for c in "ydxw")
    assert w.sum() > 0 and baseline.kind == "ratio" and f"on {last:%Y-%m-%d}" in baseline.source
    r, r_x = y.sum() / d.sum(), x.sum() / w.sum()
    rho2 = np.corrcoef((y - r * d) / d.mean(), (x - r_x * w) / w.mean())[0, 1] ** 2
    assert baseline.variance_reduction == pytest.approx(rho2, rel=1e-6)
    assert "control of homepage_cards" in out and f"with CUPED        ρ² {rho2:.2f}" in out


def test_sample_size_check_plans_the_primary_metrics_kind_and_reports_cuped() -> None:
    """The health check's power analysis: a 10 % conversion with a covariate of ρ² = 0.25 (per-unit
    Var(y) = 0.09, Var(x) = 1, Cov = 0.15) needs 3/4 of the units with CUPED."""
    from test_monitoring_rules import run, world

    from exptrack_pipeline.monitoring import outcomes
    from exptrack_pipeline.stats import sample_size_per_arm

    frames = world(per_day=(100, 100))
    frames["stats"]["sum_xy"] = 0.35 * frames["stats"]["n"]
    finding = run(outcomes.check_sample_size, frames)
    plain = sample_size_per_arm(0.1, 0.1)
    with_cuped = math.ceil(sample_size_per_arm(0.1, 0.1, variance_reduction=0.25))
    assert finding.details["required_per_arm"]["control"] == math.ceil(plain)
    assert "(proportion)" in finding.details["power_analysis"]
    assert f"with CUPED (ρ² 0.25) {with_cuped:,}" in finding.details["power_analysis"]
    ratio = world(per_day=(100, 100))
    ratio["stats"] = ratio["stats"].assign(stat_kind="ratio", metric_kind="ratio", sum_den=3.0 * ratio["stats"]["n"])
    ratio["stats"] = ratio["stats"].assign(sum_den_sq=12.0 * ratio["stats"]["n"], sum_num_den=0.4 * ratio["stats"]["n"])
    finding = run(outcomes.check_sample_size, ratio)
    assert "(ratio)" in finding.details["power_analysis"] and "with CUPED" not in finding.details["power_analysis"]


def test_a_one_sided_plan_matches_statsmodels_and_says_so() -> None:
    # proportion 0.1 → 0.11 (relative MDE 10 %), unpooled variance, one-sided at alpha 0.05
    baseline = planning.Baseline(0.1, "proportion", None, "test")
    one = planning.make_plan("conv", baseline, 0.1, alternative="greater")
    two = planning.make_plan("conv", baseline, 0.1)
    effect = 0.01 / math.sqrt((0.1 * 0.9 + 0.11 * 0.89) / 2)
    expected = math.ceil(NormalIndPower().solve_power(effect_size=effect, alpha=0.05, power=0.8, alternative="larger"))
    assert abs(one.n_smallest_arm - expected) <= 1
    assert one.n_smallest_arm < 0.85 * two.n_smallest_arm
    assert "(greater)" in planning.format_plan(one, ["control", "treatment"])
    assert "(two-sided)" in planning.format_plan(two, ["control", "treatment"])


def test_quantile_plan_gives_the_planned_power_in_simulation() -> None:
    """The planner's n for a p90 (unit-level) reaches the planned 80 % power with the production quantile test."""
    rng = np.random.default_rng(11)
    big = QuantileArmStats.from_observations(rng.exponential(1.0, 200_000), 0.9)
    sd = float(quantile_unit_sd(big))
    # textbook asymptotics of a sample quantile: √(ν(1 − ν))/f(Q); Exp(1) p90: Q = ln 10, f(Q) = 0.1 → 3.0
    assert sd == pytest.approx(3.0, rel=0.05)
    plan = planning.make_plan("p90", planning.Baseline(float(big.quantile), "quantile", sd, "sim"), 0.1)
    text = planning.format_plan(plan, ["control", "treatment"])
    assert "quantile, order-statistic z" in text and "does not apply to quantile metrics" in text
    n, shift, sims = plan.n_smallest_arm, 0.1 * math.log(10.0), 400
    arms = [
        (
            QuantileArmStats.from_observations(rng.exponential(1.0, n), 0.9),
            QuantileArmStats.from_observations(rng.exponential(1.0, n) + shift, 0.9),  # p90 up 10 %
        )
        for _ in range(sims)
    ]

    def stack(side: int) -> QuantileArmStats:
        names = [f.name for f in fields(QuantileArmStats)]
        return QuantileArmStats(**{k: np.array([getattr(a[side], k) for a in arms], dtype=float) for k in names})

    power = float(np.mean(compare(stack(0), stack(1), kind="quantile", alpha=0.05).p_value < 0.05))
    assert abs(power - 0.8) < 3 * math.sqrt(0.8 * 0.2 / sims), power


def test_quantile_baseline_comes_from_the_quantile_mart() -> None:
    rng = np.random.default_rng(5)
    arm = QuantileArmStats.from_observations(rng.exponential(1.0, 50_000), 0.9)
    row = {
        "experiment_id": "e",
        "metric_id": "p90",
        "is_control": True,
        "analysis_date": pd.Timestamp("2026-11-01"),
        "quantile_granularity": "unit",
        "quantile_estimate": float(arm.quantile),
        **{c: float(getattr(arm, c)) for c in planning.QUANTILE_FIELDS},
    }
    baseline = planning.baseline_from_quantiles(pd.DataFrame([row]), "p90")
    assert baseline.kind == "quantile" and baseline.value == pytest.approx(math.log(10.0), rel=0.03)
    assert baseline.sd == pytest.approx(3.0, rel=0.08)  # √(ν(1 − ν))/f(Q) for Exp(1) at p90
    assert planning.baseline_from_quantiles(pd.DataFrame([row]), "other") is None
