"""experiment_results (analysis/results.py) on hand-made sufficient statistics: one m per family, expected loss in the
metric's good direction, p-values that never disagree with intervals, the guardrail margin test (issue 12)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.integrate as integrate
import scipy.stats as st
from statsmodels.stats.multitest import multipletests

from exptrack_pipeline.analysis.results import compute_results


def arm_rows(experiment, metric, role, variant, is_control, n, conversions, direction="increase", day="2026-11-01"):
    return {
        "experiment_id": experiment,
        "metric_id": metric,
        "metric_role": role,
        "metric_kind": "conversion",
        "stat_kind": "proportion",
        "direction": direction,
        "variant": variant,
        "is_control": is_control,
        "control_variant": "control",
        "analysis_date": pd.Timestamp(day),
        "n": n,
        "sum": float(conversions),
        "sum_sq": float(conversions),
        "sum_den": 0.0,
        "sum_den_sq": 0.0,
        "sum_num_den": 0.0,
        "sum_x": np.nan,
        "sum_x_sq": np.nan,
        "sum_xy": np.nan,
    }


def stats_frame(rows):
    return pd.DataFrame(rows)


def test_one_m_for_p_values_and_intervals_when_a_family_member_has_no_test():
    """Three secondary metrics, one with no conversions at all (no p-value): m = 2 for p and CI alike.

    Before: intervals used m = 3 while adjust_pvalues used m = 2, so p_adj < alpha with a CI crossing zero."""
    rows = []
    for metric, (c, v) in {"s1": (200, 245), "s2": (0, 0), "s3": (150, 150)}.items():
        rows += [
            arm_rows("e", metric, "secondary", "control", True, 4000, c),
            arm_rows("e", metric, "secondary", "b", False, 4000, v),
        ]
    res = compute_results(stats_frame(rows), pd.Series({"e": 0.05})).set_index("metric_id")
    assert np.isnan(res.loc["s2", "p_value"])
    assert list(res["comparisons"]) == [2, 2, 2]
    tested = res.loc[["s1", "s3"], "p_value"].to_numpy()
    np.testing.assert_allclose(res.loc[["s1", "s3"], "p_value_adjusted"], multipletests(tested, method="bonferroni")[1])
    z = st.norm.ppf(1 - 0.05 / 2 / 2)
    row = res.loc["s1"]
    pc, pv = 200 / 4000, 245 / 4000
    se = np.sqrt(pc * (1 - pc) / 4000 + pv * (1 - pv) / 4000)
    assert row["abs_ci_low"] == pytest.approx(pv - pc - z * se, rel=1e-9)
    for r in res.drop(index="s2").itertuples():
        assert (
            (r.p_value_adjusted < 0.05)
            == (r.abs_ci_low > 0 or r.abs_ci_high < 0)
            == (r.rel_lift_ci_low > 0 or r.rel_lift_ci_high < 0)
        )
        assert (
            (r.seq_p_value_adjusted < 0.05) == (r.seq_abs_ci_low > 0 or r.seq_abs_ci_high < 0) == r.seq_is_significant
        )


def test_expected_loss_is_the_risk_in_the_metrics_good_direction():
    """A lower-is-better metric that rose ~60 %: shipping risks ≈ +60 % (posterior N(lift, se²), integrated by
    scipy)."""
    rows = [
        arm_rows("c", "error_rate", "guardrail", "control", True, 20000, 200, direction="decrease"),
        arm_rows("c", "error_rate", "guardrail", "b", False, 20000, 324, direction="decrease"),
        arm_rows("c", "conv", "primary", "control", True, 20000, 2000),
        arm_rows("c", "conv", "primary", "b", False, 20000, 1900),
    ]
    res = compute_results(stats_frame(rows), pd.Series({"c": 0.05})).set_index("metric_id")
    for metric, sign in (("error_rate", 1.0), ("conv", -1.0)):
        row = res.loc[metric]
        pc, pv, n = row["mean_control"], row["mean_variant"], 20000
        lift = pv / pc - 1
        se = np.sqrt(pv * (1 - pv) / n / pc**2 + pv**2 * pc * (1 - pc) / n / pc**4)
        # loss of shipping = E[max(0, bad-direction change)]; for 'decrease' a rise is bad
        ref = integrate.quad(
            lambda x, sign=sign, lift=lift, se=se: max(0.0, sign * x) * st.norm.pdf(x, lift, se),
            lift - 12 * se,
            lift + 12 * se,
            points=[0.0],
        )[0]
        assert row["expected_loss"] == pytest.approx(ref, rel=1e-6, abs=1e-12)
    assert res.loc["error_rate", "expected_loss"] == pytest.approx(0.62, abs=0.02)
    assert res.loc["error_rate", "prob_beat_control"] < 1e-4


def test_guardrail_margin_test_matches_the_contrast_and_not_the_lopsided_interval():
    """seq_is_harmful: z = (p_v − (1+δ) p_c)/√(V_v + (1+δ)² V_c) beyond the always-valid multiplier."""
    rows = []
    for day, (c, v) in enumerate([(100, 135), (200, 290), (400, 640)]):
        d = f"2026-11-0{day + 1}"
        rows += [
            arm_rows("g", "err", "guardrail", "control", True, 10000 * (day + 1), c, direction="decrease", day=d),
            arm_rows("g", "err", "guardrail", "b", False, 10000 * (day + 1), v, direction="decrease", day=d),
        ]
    margins = pd.DataFrame({"experiment_id": ["g"], "metric_id": ["err"], "max_relative_harm": [0.2]})
    res = compute_results(stats_frame(rows), pd.Series({"g": 0.05}), margins)
    assert set(res["harm_margin"]) == {0.2}
    from exptrack_pipeline.stats import mixture_halfwidth_multiplier, mixture_rho

    for r in res.itertuples():
        n = r.n_control
        pc, pv = r.mean_control, r.mean_variant
        z = (pv - 1.2 * pc) / np.sqrt(pv * (1 - pv) / n + 1.44 * pc * (1 - pc) / n)
        q = mixture_halfwidth_multiplier(2 * n, mixture_rho(0.05), 0.05)
        assert r.seq_is_harmful == (z > q)
    assert list(res["seq_is_harmful"]) == [False, False, True]
    assert res["seq_is_harmful"].iloc[-1] and res["seq_rel_lift_ci_low"].iloc[-1] > 0.2
