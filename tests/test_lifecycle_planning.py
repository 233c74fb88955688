"""`exptrack plan` and `exptrack new`: numbers checked against statsmodels, the scaffold loads with load_registry."""

from __future__ import annotations

import datetime as dt
import math
import shutil
from pathlib import Path

import pytest
from statsmodels.stats.power import NormalIndPower

from exptrack_pipeline.cli import main
from exptrack_pipeline.config import load_registry
from exptrack_pipeline.lifecycle import planning

REPO = Path(__file__).resolve().parents[1]


def _statsmodels_n(p: float, rel_mde: float, alpha: float, power: float) -> int:
    """Per-arm n for two proportions with unpooled variances (equal arms), from statsmodels."""
    p2 = p * (1 + rel_mde)
    effect = (p2 - p) / math.sqrt((p * (1 - p) + p2 * (1 - p2)) / 2)
    return math.ceil(NormalIndPower().solve_power(effect_size=effect, alpha=alpha, power=power, ratio=1.0))


@pytest.mark.parametrize(("arms", "alpha_per_test"), [(2, 0.05), (3, 0.025)])
def test_plan_matches_statsmodels_and_duration_follows_traffic(arms, alpha_per_test):
    baseline = planning.Baseline(0.10, "proportion", None, "test")
    plan = planning.make_plan(
        "m", baseline, 0.10, alpha=0.05, power=0.8, weights=tuple([1.0] * arms), daily_units=1200.0
    )
    expected = _statsmodels_n(0.10, 0.10, alpha_per_test, 0.8)
    assert abs(plan.n_smallest_arm - expected) <= 1
    assert plan.n_per_arm == (plan.n_smallest_arm,) * arms
    assert plan.duration_days == math.ceil(plan.n_smallest_arm / (1200.0 / arms))


def _env(monkeypatch, experiments: Path, warehouse: Path, output: Path) -> None:
    monkeypatch.setenv("EXPTRACK_EXPERIMENTS_DIR", str(experiments))
    monkeypatch.setenv("EXPTRACK_METRICS_FILE", str(experiments / "metrics.yaml"))
    monkeypatch.setenv("EXPTRACK_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("EXPTRACK_OUTPUT_DIR", str(output))


def test_new_scaffolds_a_yaml_that_loads(tmp_path, monkeypatch, capsys):
    experiments = tmp_path / "experiments"
    experiments.mkdir()
    shutil.copy(REPO / "experiments" / "metrics.yaml", experiments)
    _env(monkeypatch, experiments, tmp_path / "none.duckdb", tmp_path / "out")
    args = [
        "new",
        "checkout_express",
        "--name",
        "Express checkout",
        "--hypothesis",
        "Fewer fields, more purchases",
        "--owner",
        "@sam",
        "--slack-channel",
        "#exp-checkout",
        "--metric",
        "purchase_conversion",
        "--mde",
        "0.1",
        "--baseline",
        "0.1",
        "--daily-units",
        "1200",
        "--surface",
        "checkout",
        "--start",
        "2027-01-04",
        "--guardrails",
        "error_rate",
        "--ice",
        "8,5,2",
    ]
    assert main(args) == 0
    registry = load_registry(experiments)
    e = registry.get("checkout_express")
    n = _statsmodels_n(0.10, 0.10, 0.05, 0.8)
    days = math.ceil(n / 600)  # half of 1200 units/day per arm
    weeks = math.ceil(days / 7)
    assert e.status == "backlog" and e.surface == "checkout" and e.primary_metric == "purchase_conversion"
    assert e.start_date == dt.date(2027, 1, 4) and (e.end_date - e.start_date).days + 1 == 7 * weeks
    assert e.success_criteria.minimum_detectable_effect == 0.1 and [g.metric for g in e.guardrail_metrics] == [
        "error_rate"
    ]
    assert e.prioritization.expected_impact == 8 and e.prioritization.effort == 2
    printed = capsys.readouterr().out
    assert f"control {n:,}" in printed or f"control {n + 1:,}" in printed
    assert main(args) == 2  # never overwrites the user's YAML


def test_plan_reads_baseline_and_traffic_from_the_warehouse(demo_run, monkeypatch, capsys):
    s = demo_run.settings
    _env(monkeypatch, s.experiments_dir, s.warehouse, s.output_dir)
    assert main(["plan", "--metric", "purchase_conversion", "--mde", "0.1", "--surface", "checkout"]) == 0
    out = capsys.readouterr().out
    control = demo_run.query(
        "select mean_control from main.experiment_results where experiment_id = 'checkout_redesign' and "
        "metric_id = 'purchase_conversion' "
        "and analysis_date = (select max(analysis_date) from main.experiment_results where experiment_id = "
        "'checkout_redesign')"
    )["mean_control"].iloc[0]
    traffic = demo_run.query(
        "select sum(new_units) / count(distinct case when new_units > 0 then exposure_date end) as per_day "
        "from main.fct_daily_exposures where experiment_id = 'checkout_redesign'"
    )["per_day"].iloc[0]
    assert f"baseline          {control:.4g}" in out
    assert f"{traffic:,.0f} units/day" in out
    n = _statsmodels_n(float(control), 0.1, 0.05, 0.8)
    assert f"control {n:,}" in out or f"control {n + 1:,}" in out
