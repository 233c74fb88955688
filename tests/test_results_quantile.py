"""Quantile metrics in experiment_results: their rows read fct_variant_metric_quantiles-shaped inputs, name their
method, take part in corrections and the guardrail margin test, and decisions treat them like any metric."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pandas as pd
import pytest
from test_results_trust import arm_rows

from exptrack_pipeline.analysis import decisions
from exptrack_pipeline.analysis.results import compute_results
from exptrack_pipeline.stats import QuantileArmStats
from exptrack_pipeline.stats.quantile import MISSING_INPUTS

DAY = "2026-11-01"


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(19)


def _quantile_rows(rng, harm: float) -> tuple[list[dict], pd.DataFrame, dict[str, np.ndarray]]:
    """A p90 page-load guardrail: stats rows (per-unit totals, as fct_variant_metric_stats) and warehouse inputs."""
    stats, inputs, samples = [], [], {}
    for variant, scale in (("control", 1.0), ("b", 1.0 + harm)):
        users = np.repeat(np.arange(3000), 1 + rng.poisson(2.0, 3000))
        values = scale * rng.lognormal(np.log(900), 0.5, users.size)
        samples[variant] = values
        arm = QuantileArmStats.from_observations(values, 0.9, units=users)
        row = arm_rows("e", "load_p90", "guardrail", variant, variant == "control", 3000, 0.0, "decrease", DAY)
        stats.append(row | {"metric_kind": "quantile", "stat_kind": "quantile", "sum": float(values.sum())})
        values_of = {f.name: float(getattr(arm, f.name)) for f in fields(arm) if getattr(arm, f.name) is not None}
        inputs.append(
            {k: row[k] for k in list(row)[:10]}
            | {k: values_of[k] for k in ("n", "sum", "sum_sq", "sum_den", "sum_den_sq", "sum_num_den")}
            | {
                "metric_kind": "quantile",
                "stat_kind": "quantile",
                "quantile_level": 0.9,
                "quantile_granularity": "event",
                "n_obs": values_of["n_obs"],
                "quantile_estimate": values_of["quantile"],
                "quantile_lower": values_of["quantile_lower"],
                "quantile_upper": values_of["quantile_upper"],
                "bound_z": values_of["bound_z"],
                "analysis_date": pd.Timestamp(DAY).date(),  # as the warehouse returns it
            }
        )
    return stats, pd.DataFrame(inputs), samples


def _proportion_rows() -> list[dict]:
    return [
        arm_rows("e", "conv", "primary", "control", True, 4000, 400, day=DAY),
        arm_rows("e", "conv", "primary", "b", False, 4000, 470, day=DAY),
    ]


MARGINS = pd.DataFrame({"experiment_id": ["e"], "metric_id": ["load_p90"], "max_relative_harm": [0.05]})


def test_quantile_rows_name_their_method_and_hold_the_quantiles(rng: np.random.Generator) -> None:
    stats, inputs, samples = _quantile_rows(rng, harm=0.0)
    rows = _proportion_rows() + stats
    res = compute_results(pd.DataFrame(rows), pd.Series({"e": 0.05}), MARGINS, quantiles=inputs).set_index("metric_id")
    q = res.loc["load_p90"]
    assert q["method"] == "quantile_order_stat_cluster_z" and q["reason"] == ""
    assert q["mean_control"] == pytest.approx(np.quantile(samples["control"], 0.9))
    assert q["mean_variant"] == pytest.approx(np.quantile(samples["b"], 0.9))
    assert q["abs_ci_low"] < q["abs_effect"] < q["abs_ci_high"]
    assert q["seq_abs_ci_low"] < q["abs_ci_low"]  # always-valid intervals are wider
    assert q["cuped_p_value"] == pytest.approx(q["p_value"])  # no CUPED for quantiles: the plain test
    assert q["n_control"] == 3000 and q["comparisons"] == 1
    plain = compute_results(pd.DataFrame(_proportion_rows()), pd.Series({"e": 0.05})).set_index("metric_id")
    pd.testing.assert_series_equal(res.loc["conv"], plain.loc["conv"])  # other metrics are untouched


def test_a_harmed_quantile_guardrail_is_a_breach(rng: np.random.Generator) -> None:
    stats, inputs, _ = _quantile_rows(rng, harm=0.25)
    res = compute_results(pd.DataFrame(stats), pd.Series({"e": 0.05}), MARGINS, quantiles=inputs)
    assert bool(res["seq_is_harmful"].iloc[0]) and res["rel_lift"].iloc[0] > 0.05
    assert list(decisions.guardrail_breaches(res)["metric_id"]) == ["load_p90"]
    stats, inputs, _ = _quantile_rows(rng, harm=0.0)
    res = compute_results(pd.DataFrame(stats), pd.Series({"e": 0.05}), MARGINS, quantiles=inputs)
    assert decisions.guardrail_breaches(res).empty


def test_without_quantile_inputs_the_row_is_nan_with_a_reason(rng: np.random.Generator) -> None:
    stats, _, _ = _quantile_rows(rng, harm=0.0)
    res = compute_results(pd.DataFrame(stats), pd.Series({"e": 0.05}), MARGINS)
    assert np.isnan(res["abs_effect"].iloc[0]) and MISSING_INPUTS in res["reason"].iloc[0]
    assert not res["seq_is_harmful"].iloc[0]
