"""Issue 19 in experiment_results: the multiple-comparison procedure (bonferroni, holm, bh), one-sided metrics
declared in the registry, exact tests at low counts; registry validation of the new options.

References: statsmodels multipletests (holm, fdr_bh); scipy fisher_exact; simulation of family-wise error (Holm) and
false discovery rate (Benjamini–Hochberg) through analysis.multiplicity.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.stats as st
import test_registry
from statsmodels.stats.multitest import multipletests
from test_results_trust import arm_rows

from exptrack_pipeline.analysis.multiplicity import adjust, interval_alpha
from exptrack_pipeline.analysis.results import compute_results
from exptrack_pipeline.config import RegistryError, load_registry
from exptrack_pipeline.config.tables import registry_tables

registry_dir = test_registry.registry_dir  # the fixture: a copy of the demo registry
_edit = test_registry._edit
RATES = {"s1": (400, 480), "s2": (400, 475), "s3": (400, 465), "s4": (400, 405), "s5": (400, 390)}


def secondary_family(experiment="e"):
    rows = []
    for metric, (c, v) in RATES.items():
        rows += [
            arm_rows(experiment, metric, "secondary", "control", True, 5000, c),
            arm_rows(experiment, metric, "secondary", "b", False, 5000, v),
        ]
    return rows


@pytest.mark.parametrize(("procedure", "sm_method"), [("bonferroni", "bonferroni"), ("holm", "holm"), ("bh", "fdr_bh")])
def test_adjusted_p_values_are_statsmodels_and_decisions_follow_them(procedure, sm_method):
    res = compute_results(
        pd.DataFrame(secondary_family()), pd.Series({"e": 0.05}), corrections=pd.Series({"e": procedure})
    ).set_index("metric_id")
    ref = multipletests(res["p_value"].to_numpy(), method=sm_method)[1]
    np.testing.assert_allclose(res["p_value_adjusted"], ref, rtol=1e-12)
    assert set(res["correction"]) == {procedure} and set(res["correction_procedure"]) == {procedure}
    np.testing.assert_array_equal(res["is_significant"], ref < 0.05)
    seq_ref = multipletests(res["seq_p_value"].to_numpy(), method=sm_method)[1]
    np.testing.assert_allclose(res["seq_p_value_adjusted"], seq_ref, rtol=1e-12)
    np.testing.assert_array_equal(res["seq_is_significant"], seq_ref < 0.05)
    excludes = (res["abs_ci_low"] > 0) | (res["abs_ci_high"] < 0)
    if procedure in ("bonferroni", "bh"):  # bh: Benjamini–Yekutieli FCR intervals at R·α/m
        np.testing.assert_array_equal(excludes, res["is_significant"])
    rejected = int((ref < 0.05).sum())
    z = st.norm.ppf(1 - (max(rejected, 1) if procedure == "bh" else 1) * 0.05 / 5 / 2)
    row = res.loc["s1"]
    se = np.sqrt(sum(x / 5000 * (1 - x / 5000) / 5000 for x in RATES["s1"]))
    assert row["abs_ci_high"] - row["abs_effect"] == pytest.approx(z * se, rel=1e-9)


def test_holm_never_finds_fewer_than_bonferroni_nor_bh_than_holm():
    frames = {
        p: compute_results(pd.DataFrame(secondary_family()), pd.Series({"e": 0.05}), corrections=pd.Series({"e": p}))
        for p in ("bonferroni", "holm", "bh")
    }
    wins = {p: int(f["is_significant"].sum()) for p, f in frames.items()}
    assert wins["bonferroni"] <= wins["holm"] <= wins["bh"] and wins["bonferroni"] < wins["bh"]


def _simulated_families(rng, sims, m, true_effects):
    z = rng.standard_normal((sims, m)) + true_effects
    p = 2 * st.norm.sf(np.abs(z))
    family = np.repeat(np.arange(sims), m).astype(str)
    return p.ravel(), family


def test_holm_controls_the_family_wise_error_and_bh_the_false_discovery_rate():
    rng = np.random.default_rng(19)
    sims, m, alpha = 4000, 8, 0.05
    effects = np.array([0, 0, 0, 0, 0, 3.0, 3.0, 3.5])
    p, family = _simulated_families(rng, sims, m, effects)
    counted, size = np.ones(p.size, dtype=bool), np.full(p.size, float(m))
    null = np.tile(effects == 0, sims).reshape(sims, m)
    noise = 2 * np.sqrt(alpha * (1 - alpha) / sims)
    holm = adjust(p, family, size, counted, np.full(p.size, "holm")).reshape(sims, m) < alpha
    assert np.mean((holm & null).any(axis=1)) <= alpha + noise
    bh_adj = adjust(p, family, size, counted, np.full(p.size, "bh"))
    bh = bh_adj.reshape(sims, m) < alpha
    fdp = (bh & null).sum(axis=1) / np.maximum(bh.sum(axis=1), 1)
    assert fdp.mean() <= alpha * null[0].mean() + noise  # BH: FDR ≤ α·m0/m
    assert bh.sum() > holm.sum()
    level = interval_alpha(bh_adj, family, size, np.full(p.size, alpha), np.full(p.size, "bh"))
    np.testing.assert_array_equal(p < level, bh.ravel())  # FCR intervals exclude 0 exactly for rejections


def test_one_sided_metric_and_exact_test_reach_the_result_rows():
    rows = [
        arm_rows("e", "conv", "primary", "control", True, 5000, 500),
        arm_rows("e", "conv", "primary", "b", False, 5000, 560),
        arm_rows("e", "rare", "guardrail", "control", True, 1000, 0),
        arm_rows("e", "rare", "guardrail", "b", False, 1000, 5),
    ]
    options = pd.DataFrame(
        {
            "experiment_id": ["e", "e"],
            "metric_id": ["conv", "rare"],
            "alternative": ["greater", "two-sided"],
            "exact_test": ["fisher", "fisher"],
            "exact_below": [5.0, 5.0],
        }
    )
    res = compute_results(pd.DataFrame(rows), pd.Series({"e": 0.05}), options=options).set_index("metric_id")
    two = compute_results(pd.DataFrame(rows), pd.Series({"e": 0.05})).set_index("metric_id")
    assert res.loc["conv", "alternative"] == "greater" and two.loc["conv", "alternative"] == "two-sided"
    assert res.loc["conv", "p_value"] == pytest.approx(two.loc["conv", "p_value"] / 2, rel=1e-9)
    assert res.loc["conv", "is_significant"] and not two.loc["conv", "is_significant"]
    assert res.loc["conv", "abs_ci_high"] == np.inf and res.loc["conv", "seq_abs_ci_high"] == np.inf
    rare = res.loc["rare"]
    assert rare["method"] == "fisher_exact" and not rare["is_significant"]
    assert rare["p_value"] == pytest.approx(st.fisher_exact([[5, 0], [995, 1000]]).pvalue, rel=1e-12)


def test_registry_options_flow_into_the_registry_tables(registry_dir: Path):
    _edit(
        registry_dir / "checkout_redesign.yaml",
        lambda d: d["success_criteria"].update(one_sided={"purchase_conversion": "greater"}, correction="holm"),
    )
    _edit(registry_dir / "metrics.yaml", lambda d: d.update(default_correction="bh"))
    tables = registry_tables(load_registry(registry_dir))
    corrections = tables["experiments"].set_index("experiment_id")["correction"]
    assert corrections["checkout_redesign"] == "holm" and corrections["homepage_cards"] == "bh"
    alternatives = tables["experiment_metrics"].set_index(["experiment_id", "metric_id"])["alternative"]
    assert alternatives["checkout_redesign", "purchase_conversion"] == "greater"
    assert alternatives["checkout_redesign", "error_rate"] == "two-sided"
    metrics = tables["metrics"].set_index("metric_id")
    assert (
        metrics.loc["purchase_conversion", "exact_test"] == "fisher"
        and metrics.loc["purchase_conversion", "exact_below"] == 5
    )


def test_one_sided_on_a_metric_the_experiment_does_not_measure_names_file_field_and_fix(registry_dir: Path):
    _edit(registry_dir / "checkout_redesign.yaml", lambda d: d["success_criteria"].update(one_sided={"ctr": "greater"}))
    with pytest.raises(RegistryError) as info:
        load_registry(registry_dir)
    message = str(info.value)
    assert (
        "checkout_redesign.yaml" in message
        and "success_criteria.one_sided" in message
        and "purchase_conversion" in message
    )


def test_bad_direction_and_bad_procedure_are_rejected(registry_dir: Path):
    path = registry_dir / "checkout_redesign.yaml"
    _edit(path, lambda d: d["success_criteria"].update(one_sided={"purchase_conversion": "up"}, correction="sidak"))
    with pytest.raises(RegistryError) as info:
        load_registry(registry_dir)
    message = str(info.value)
    assert "success_criteria.one_sided.purchase_conversion" in message and "'greater' or 'less'" in message
    assert "success_criteria.correction" in message and "'holm'" in message


def test_exact_test_on_a_mean_metric_is_rejected(registry_dir: Path):
    def change(d):
        metric = next(m for m in d["metrics"] if m["kind"] == "mean")
        metric["exact_test"] = "boschloo"

    _edit(registry_dir / "metrics.yaml", change)
    with pytest.raises(RegistryError) as info:
        load_registry(registry_dir)
    assert "metrics.yaml" in str(info.value) and "`exact_test` only applies to 0/1 metrics" in str(info.value)
