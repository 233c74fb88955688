"""Health rules on small synthetic inputs: each rule's pass, fail and skip, and the numbers it reports."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.power import NormalIndPower

from exptrack_pipeline.monitoring import HealthConfig, HealthInputs, evaluate
from exptrack_pipeline.monitoring import integrity as ig
from exptrack_pipeline.monitoring import outcomes as oc
from exptrack_pipeline.stats import sample_size_per_arm

START = dt.date(2026, 11, 1)
CFG = HealthConfig()
EXP = "exp_a"


def day(i: int) -> dt.date:
    return START + dt.timedelta(days=i)


def world(days: int = 14, per_day: tuple[int, int] = (500, 500), end_offset: int = 20, **over) -> dict:
    """Frames of one running two-arm experiment with `days` days of data (override any frame by keyword)."""
    as_of = day(days - 1)
    variants = pd.DataFrame(
        {"experiment_id": EXP, "variant": ["control", "treat"], "weight": [0.5, 0.5], "is_control": [True, False]}
    )
    daily = pd.DataFrame(
        [
            {"experiment_id": EXP, "variant": v, "exposure_date": day(i), "design_weight": 0.5, "new_units": n}
            for i in range(days)
            for v, n in zip(["control", "treat"], per_day, strict=True)
        ]
    )
    daily["cumulative_units"] = daily.groupby("variant")["new_units"].cumsum()
    rng = np.random.default_rng(1)
    metric_daily = pd.DataFrame(
        [
            {
                "experiment_id": EXP,
                "metric_id": "conv",
                "variant": v,
                "activity_date": day(i),
                "units_in_window": 1000,
                "active_units": 50,
                "numerator": 50.0,
                "denominator": 0.0,
                "daily_value": 0.05 * (1 + 0.03 * rng.standard_normal()),
            }
            for i in range(days)
            for v in ["control", "treat"]
        ]
    )
    results = []
    for i in range(days):
        n = per_day[0] * (i + 1), per_day[1] * (i + 1)
        for metric, role, direction in [("conv", "primary", "increase"), ("guard", "guardrail", "decrease")]:
            results.append(
                {
                    "experiment_id": EXP,
                    "metric_id": metric,
                    "metric_role": role,
                    "direction": direction,
                    "variant": "treat",
                    "control_variant": "control",
                    "analysis_date": day(i),
                    "n_control": n[0],
                    "n_variant": n[1],
                    "mean_control": 0.1,
                    "mean_variant": 0.1,
                    "rel_lift": 0.0,
                    "seq_rel_lift_ci_low": -0.1,
                    "seq_rel_lift_ci_high": 0.1,
                    "seq_p_value": 1.0,
                    "seq_p_value_adjusted": 1.0,
                    "seq_is_significant": False,
                    "seq_is_harmful": False,
                    "harm_margin": 0.0,
                    "alpha": 0.05,
                    "comparisons": 1,
                }
            )
    n_c, n_v = per_day[0] * days, per_day[1] * days
    stats = pd.DataFrame(
        [
            {
                "experiment_id": EXP,
                "metric_id": "conv",
                "stat_kind": "proportion",
                "variant": v,
                "is_control": c,
                "analysis_date": as_of,
                "n": n,
                "sum": 0.1 * n,
                "sum_sq": 0.1 * n,
                "sum_den": 0.0,
                "sum_den_sq": 0.0,
                "sum_num_den": 0.0,
                "sum_x": 2.0 * n,
                "sum_x_sq": 5.0 * n,
                "sum_xy": 0.0,
            }
            for v, c, n in [("control", True, n_c), ("treat", False, n_v)]
        ]
    )
    frames = {
        "experiments": pd.DataFrame(
            [
                {
                    "experiment_id": EXP,
                    "registry_status": "running",
                    "effective_status": "running",
                    "start_date": START,
                    "end_date": day(end_offset),
                    "control_variant": "control",
                    "primary_metric_id": "conv",
                    "alpha": 0.05,
                    "target_power": 0.8,
                    "minimum_detectable_effect": 0.1,
                    "mde_type": "relative",
                    "as_of": as_of,
                }
            ]
        ),
        "variants": variants,
        "daily_exposures": daily,
        "segment_exposures": pd.DataFrame(
            [
                {
                    "experiment_id": EXP,
                    "variant": v,
                    "design_weight": 0.5,
                    "attribute": "platform",
                    "attribute_value": p,
                    "units": n // 2,
                }
                for p in ["ios", "web"]
                for v, n in [("control", n_c), ("treat", n_v)]
            ]
        ),
        "exposure_quality": pd.DataFrame(
            [{"experiment_id": EXP, "exposed_units": n_c + n_v, "multi_exposed_units": 0, "multi_exposure_rate": 0.0}]
        ),
        "activity": pd.DataFrame(
            [
                {
                    "experiment_id": EXP,
                    "activity_date": day(i),
                    "exposure_rows": sum(per_day),
                    "first_exposed_units": sum(per_day),
                    "multi_exposed_units": 0,
                    "events": 1000,
                    "active_units": 300,
                }
                for i in range(days)
            ]
        ),
        "metric_daily": metric_daily,
        "results": pd.DataFrame(results),
        "stats": stats,
        "metrics": pd.DataFrame(
            [
                {
                    "experiment_id": EXP,
                    "metric_id": "conv",
                    "metric_role": "primary",
                    "max_relative_harm": None,
                    "stat_kind": "proportion",
                    "metric_kind": "conversion",
                    "direction": "increase",
                    "window_days": 14,
                    "retention_day": None,
                },
                {
                    "experiment_id": EXP,
                    "metric_id": "guard",
                    "metric_role": "guardrail",
                    "max_relative_harm": 0.05,
                    "stat_kind": "proportion",
                    "metric_kind": "conversion",
                    "direction": "decrease",
                    "window_days": 14,
                    "retention_day": None,
                },
            ]
        ),
    }
    frames.update(over)
    return frames


def inputs(frames: dict) -> HealthInputs:
    return HealthInputs(data_through=frames["experiments"]["as_of"].iloc[0], **frames)


def as_of(frames: dict) -> dt.date:
    return frames["experiments"]["as_of"].iloc[0]


def run(rule, frames: dict, cfg: HealthConfig = CFG):
    return rule(inputs(frames), cfg, EXP, as_of(frames))


def test_srm_passes_a_balanced_split_and_fails_the_checkout_split():
    assert run(ig.check_srm, world()).status == "pass"
    broken = run(ig.check_srm, world(days=1, per_day=(5651, 5045)))
    assert broken.status == "fail" and broken.triggered and broken.level == 2
    assert broken.details["units"] == {"control": 5651, "treat": 5045}
    assert broken.details["p_value"] < 1e-6 and "expected 5,348" in broken.summary


def test_srm_text_lists_control_first_whatever_order_the_warehouse_returns_the_arms():
    """Spark returned registry.experiment_variants in another order than DuckDB and the finding text differed."""
    summaries = []
    for order in ([0, 1], [1, 0]):
        frames = world(per_day=(502, 498))
        frames["variants"] = frames["variants"].iloc[order].reset_index(drop=True)
        summaries.append(run(ig.check_srm, frames).summary)
    assert summaries[0] == summaries[1]
    assert summaries[0].startswith("Split matches the design: control 7,028 (expected 7,000), treat 6,972")


def test_srm_waits_for_the_minimum_units_per_arm():
    f = run(ig.check_srm, world(days=1, per_day=(60, 20)))
    assert f.status == "skip" and "fewer than 100" in f.summary


def test_srm_per_segment_finds_the_broken_segment_with_a_bonferroni_threshold():
    frames = world()
    seg = frames["segment_exposures"]
    seg.loc[(seg["attribute_value"] == "web") & (seg["variant"] == "treat"), "units"] = 2900
    f = run(ig.check_srm_segments, frames)
    assert f.status == "fail" and "platform=web" in f.summary and "platform=ios" not in f.summary
    assert f.details["threshold"] == pytest.approx(CFG.srm_threshold / 2)


def test_multiple_exposure_above_one_percent_is_an_integrity_risk():
    frames = world()
    frames["exposure_quality"][["multi_exposed_units", "multi_exposure_rate"]] = [300, 0.0214]
    f = run(ig.check_multiple_exposure, frames)
    assert f.status == "fail" and f.level == 2 and "2.14%" in f.summary
    frames["exposure_quality"]["multi_exposure_rate"] = 0.005
    assert run(ig.check_multiple_exposure, frames).status == "pass"


def test_freshness_fails_on_a_day_without_exposures_and_skips_after_the_end():
    frames = world()
    frames["activity"].loc[frames["activity"]["activity_date"] == as_of(frames), "exposure_rows"] = 0
    f = run(ig.check_freshness, frames)
    assert f.status == "fail" and "No exposures" in f.summary
    assert run(ig.check_freshness, world(end_offset=5)).status == "skip"


def test_traffic_drop_far_below_the_trailing_median():
    frames = world()
    d = frames["daily_exposures"]
    d.loc[d["exposure_date"] == as_of(frames), "new_units"] = 40
    f = run(ig.check_traffic, frames)
    assert f.status == "fail" and f.details["trailing_median"] == 1000 and f.details["new_units"] == 80
    d.loc[d["exposure_date"] == as_of(frames), "new_units"] = 400
    assert run(ig.check_traffic, frames).status == "pass"


def test_metric_anomaly_flags_a_spike_and_names_the_robust_method():
    frames = world()
    md = frames["metric_daily"]
    md.loc[(md["activity_date"] == as_of(frames)) & (md["variant"] == "treat"), "daily_value"] = 0.15
    f = run(oc.check_metric_anomaly, frames)
    assert f.status == "fail" and f.level == 1 and f.trigger == "metric_anomaly"
    assert [a["variant"] for a in f.details["anomalies"]] == ["treat"]
    assert "median ± k·MAD" in f.details["method"] and f.details["anomalies"][0]["robust_z"] > CFG.anomaly_k


def test_metric_anomaly_is_robust_to_an_earlier_outlier():
    frames = world()
    md = frames["metric_daily"]
    md.loc[md["activity_date"] == day(8), "daily_value"] = 0.5  # a past spike must not widen the range
    assert run(oc.check_metric_anomaly, frames).status == "pass"


def test_sample_size_uses_the_power_analysis_and_reports_the_first_day_reached():
    needed = float(
        sample_size_per_arm(0.1, 0.1, kind="proportion", alpha=0.05, power=0.8, n_arms=2, weights=[0.5, 0.5])
    )
    per_day = int(np.ceil(needed / 10))  # reached on day index 9
    f = run(oc.check_sample_size, world(per_day=(per_day, per_day)))
    assert f.status == "reached" and f.triggered and f.level == 0
    assert f.event_date == day(9) and f.details["required_per_arm"]["control"] == np.ceil(needed)
    short = run(oc.check_sample_size, world(days=3, per_day=(per_day, per_day)))
    assert short.status == "pass" and short.details["progress"] == pytest.approx(
        3 * per_day / np.ceil(needed), abs=1e-3
    )


def test_sample_size_plans_the_primary_metric_s_declared_one_sided_test():
    frames = world(per_day=(100, 100))
    metrics = frames["metrics"]
    metrics["alternative"] = np.where(metrics["metric_id"] == "conv", "greater", "two-sided")
    f = run(oc.check_sample_size, frames)
    # the world's control converts at 10 %; MDE 10 % relative → 11 %, unpooled variance, one-sided z at alpha 0.05
    effect = 0.01 / np.sqrt((0.1 * 0.9 + 0.11 * 0.89) / 2)
    one_sided = NormalIndPower().solve_power(effect_size=effect, alpha=0.05, power=0.8, alternative="larger")
    assert abs(f.details["required_per_arm"]["control"] - np.ceil(one_sided)) <= 1
    assert "one-sided (greater)" in f.details["power_analysis"]


def test_sample_size_plans_a_quantile_primary_metric_from_the_quantile_mart():
    from exptrack_pipeline.stats import QuantileArmStats

    frames = world(per_day=(100, 100))
    for name in ("stats", "metrics"):
        frames[name].loc[frames[name]["metric_id"] == "conv", "stat_kind"] = "quantile"
    arm = QuantileArmStats.from_observations(np.random.default_rng(2).exponential(1.0, 40_000), 0.9)
    row = {"experiment_id": EXP, "metric_id": "conv", "is_control": True, "analysis_date": as_of(frames)}
    row |= {"quantile_level": 0.9, "quantile_granularity": "unit", "quantile_estimate": float(arm.quantile)}
    row |= {c: float(getattr(arm, c)) for c in ("quantile_lower", "quantile_upper", "bound_z", "n_obs", "n", "sum")}
    row |= {c: float(getattr(arm, c)) for c in ("sum_sq", "sum_den", "sum_den_sq", "sum_num_den")}
    frames["quantiles"] = pd.DataFrame([row])
    f = run(oc.check_sample_size, frames)
    # the documented plan: per-unit sd = √n·(Y_U − Y_L)/(2 z_b) from the mart row, MDE 10 % relative of Q̂, two-sided,
    # power 0.8, sized by statsmodels (within rounding)
    sd = np.sqrt(row["n_obs"]) * (row["quantile_upper"] - row["quantile_lower"]) / (2 * row["bound_z"])
    assert sd == pytest.approx(3.0, rel=0.1)  # Bahadur: √(ν(1 − ν))/f(Q) = 0.3/0.1 for Exp(1) at p90
    effect = 0.1 * row["quantile_estimate"] / sd
    expected = NormalIndPower().solve_power(effect_size=effect, alpha=0.05, power=0.8)
    assert f.details["required_per_arm"]["control"] == pytest.approx(expected, abs=1.5)
    assert "conv (quantile)" in f.details["power_analysis"]


def test_duration_reached_once_on_the_end_date():
    f = run(oc.check_duration, world(days=14, end_offset=10))
    assert f.status == "reached" and f.event_date == day(10)
    assert run(oc.check_duration, world(days=5, end_offset=10)).status == "pass"


def _significant_from(frames: dict, first: int) -> dict:
    r = frames["results"]
    sig = (r["metric_id"] == "conv") & (r["analysis_date"] >= day(first))
    r.loc[
        sig, ["rel_lift", "seq_rel_lift_ci_low", "seq_rel_lift_ci_high", "seq_is_significant", "seq_p_value_adjusted"]
    ] = [0.2, 0.05, 0.35, True, 0.001]
    return frames


def test_significance_is_not_announced_before_the_minimum_days():
    early = run(oc.check_significance, _significant_from(world(days=5), first=1))
    assert early.status == "skip" and not early.triggered and "not announced" in early.summary
    later = run(oc.check_significance, _significant_from(world(days=12), first=1))
    assert later.status == "reached" and later.event_date == day(CFG.significance_min_days - 1)
    assert later.details["significant"][0]["verdict"] == "better"
    # Slack shows the adjusted always-valid p-value (the one the decision used), not the raw one
    assert later.details["significant"][0]["seq_p_value_adjusted"] == 0.001 and "p adj 0.001" in later.summary


def test_significance_needs_the_minimum_units_per_arm():
    f = run(oc.check_significance, _significant_from(world(days=12, per_day=(5, 5)), first=1))
    assert f.status == "skip"


def _guardrail(frames: dict, low: float, high: float, direction: str = "decrease") -> dict:
    r = frames["results"]
    last = (r["metric_id"] == "guard") & (r["analysis_date"] == as_of(frames))
    # results.py's margin test agrees with its Fieller interval: harmful ⇔ the whole CI is beyond the 5 % margin
    harmful = low > 0.05 if direction == "decrease" else high < -0.05
    r.loc[
        last, ["seq_rel_lift_ci_low", "seq_rel_lift_ci_high", "rel_lift", "direction", "seq_is_harmful", "harm_margin"]
    ] = [low, high, (low + high) / 2, direction, harmful, 0.05]
    return frames


def test_guardrail_harm_when_the_whole_always_valid_ci_is_beyond_the_margin():
    f = run(oc.check_guardrail_harm, _guardrail(world(), 0.42, 0.83))
    assert f.status == "fail" and f.level == 3 and f.trigger == "guardrail_harm" and "+62.5%" in f.summary
    assert run(oc.check_guardrail_harm, _guardrail(world(), 0.01, 0.30)).status == "pass"  # CI overlaps the 5% margin
    worse_down = run(oc.check_guardrail_harm, _guardrail(world(), -0.30, -0.10, direction="increase"))
    assert worse_down.status == "fail"
    assert run(oc.check_guardrail_harm, _guardrail(world(), 0.10, 0.30, direction="increase")).status == "pass"


def test_guardrail_harm_waits_for_the_minimum_units():
    f = run(oc.check_guardrail_harm, _guardrail(world(per_day=(5, 5)), 0.42, 0.83))
    assert f.status == "skip" and not f.triggered


def _primary_worse(frames: dict, harmful: bool = True) -> dict:
    r = frames["results"]
    last = (r["metric_id"] == "conv") & (r["analysis_date"] == as_of(frames))
    r.loc[
        last,
        [
            "rel_lift",
            "seq_rel_lift_ci_low",
            "seq_rel_lift_ci_high",
            "seq_is_significant",
            "seq_is_harmful",
            "seq_p_value_adjusted",
        ],
    ] = [-0.2, -0.35, -0.05, harmful, harmful, 0.001 if harmful else 0.2]
    return frames


def test_significant_primary_harm_is_a_level_3_pause():
    """Issue 12: "significant negative impact detected → automatic pause" (it was an info message)."""
    f = run(oc.check_primary_harm, _primary_worse(world(days=12)))
    assert f.status == "fail" and f.level == 3 and f.trigger == "primary_harm" and f.triggered
    assert "conv in treat -20.0%" in f.summary and "p adj 0.001" in f.summary
    assert 3 in CFG.auto_pause_levels
    assert run(oc.check_primary_harm, _primary_worse(world(days=12), harmful=False)).status == "pass"
    assert run(oc.check_primary_harm, _primary_worse(world(days=5))).status == "skip"  # before significance_min_days
    assert run(oc.check_primary_harm, _primary_worse(world(days=12, per_day=(5, 5)))).status != "fail"


def test_instrumentation_in_the_launch_window_alerts_and_later_keeps_the_verdict_quietly():
    frames = world(days=2)
    d = frames["daily_exposures"]
    d.loc[d["variant"] == "treat", "new_units"] = 0
    f = run(ig.check_instrumentation, frames)
    assert f.status == "fail" and f.alert and f.triggered and "variant treat has no exposures" in f.summary
    later = world(days=10)
    later["daily_exposures"].loc[later["daily_exposures"]["variant"] == "treat", "new_units"] = 0
    quiet = run(ig.check_instrumentation, later)
    assert quiet.status == "fail" and not quiet.triggered


def test_instrumentation_finds_silent_metrics_and_variant_flips():
    frames = world(days=2)
    md = frames["metric_daily"]
    md.loc[md["variant"] == "treat", "active_units"] = 0
    frames["activity"]["multi_exposed_units"] = 50
    f = run(ig.check_instrumentation, frames)
    assert "conv in treat" in f.summary and "flipped variant" in f.summary


def test_pre_exposure_bias_compares_covariate_means_with_welch():
    frames = world()
    assert run(ig.check_pre_exposure_bias, frames).status == "pass"
    s = frames["stats"]
    treat = s["variant"] == "treat"
    mean_x = s.loc[treat, "sum_x"] / s.loc[treat, "n"]
    shift = 2.5 - mean_x  # move every treated unit's covariate so its mean is 2.5 (Σx² moves with it: consistent sums)
    s.loc[treat, "sum_x_sq"] = (
        s.loc[treat, "sum_x_sq"] + 2 * shift * s.loc[treat, "sum_x"] + shift**2 * s.loc[treat, "n"]
    )
    s.loc[treat, "sum_x"] = 2.5 * s.loc[treat, "n"]
    f = run(ig.check_pre_exposure_bias, frames)
    assert f.status == "fail" and f.details["imbalanced"][0]["metric"] == "conv"


def test_evaluate_runs_every_rule_and_turns_a_broken_rule_into_a_skip(monkeypatch):
    from exptrack_pipeline.monitoring import health

    def broken(*args):
        raise KeyError("boom")

    monkeypatch.setitem(health.RULES, "traffic", broken)
    findings = evaluate(inputs(world()))
    assert {f.check for f in findings} == set(health.RULES)
    traffic = next(f for f in findings if f.check == "traffic")
    assert traffic.status == "skip" and "KeyError" in traffic.summary


def _unmatched(frames: dict, experiment_id: str, variant: str, reason: str, units: int) -> dict:
    frames["unmatched"] = pd.DataFrame(
        [
            {
                "experiment_id": experiment_id,
                "variant": variant,
                "exclusion_reason": reason,
                "exposure_date": day(1),
                "exposure_rows": units + 2,
                "units": units,
            }
        ]
    )
    return frames


def test_exposures_for_an_unknown_variant_are_a_finding_and_alert_above_the_rate():
    """Issue 12: rows for a variant not in the registry were only a count in the exposure-quality mart."""
    from exptrack_pipeline.monitoring import effects

    def check(frames):
        return effects.check_unknown_variants(inputs(frames), CFG, EXP, as_of(frames))

    assert check(world()).status == "pass"
    many = check(_unmatched(world(), EXP, "treatment_v2", "unknown_variant", 500))
    assert many.status == "fail" and many.level == 2 and many.triggered and "'treatment_v2'" in many.summary
    few = check(_unmatched(world(), EXP, "treatment_v2", "unknown_variant", 1))
    assert few.status == "fail" and not few.triggered and "recorded, not alerted" in few.summary


def test_exposures_for_an_unregistered_experiment_are_a_finding():
    from exptrack_pipeline.monitoring import effects

    frames = _unmatched(world(), "not_in_registry", "b", "unknown_experiment", 40)
    found = effects.unregistered_experiments(inputs(frames), as_of(frames))
    assert [(f.experiment_id, f.check, f.status) for f in found] == [("not_in_registry", "unknown_experiment", "fail")]
    assert "not in the registry" in found[0].summary and found[0].details["exposure_rows"] == 42
