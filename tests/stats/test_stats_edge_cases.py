"""Degenerate rows: defined results, a reason string, and no numpy warnings."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from exptrack_pipeline.stats import (
    ArmStats,
    adjust_pvalues,
    bayesian_summary,
    compare,
    compare_cuped,
    compare_sequential,
    srm_test,
)


def _proportion_grid() -> tuple[ArmStats, ArmStats]:
    rows = []
    for n_c, n_v in itertools.product([0, 1, 2, 100], repeat=2):
        for frac_c, frac_v in itertools.product([0.0, 0.5, 1.0], repeat=2):
            rows.append((n_c, np.floor(frac_c * n_c), n_v, np.floor(frac_v * n_v)))
    a = np.array(rows, dtype=float)
    x = {"sum_x": a[:, 0] * 0.5, "sum_x_sq": a[:, 0] * 0.5, "sum_xy": a[:, 1] * 0.5}
    xv = {"sum_x": a[:, 2] * 0.5, "sum_x_sq": a[:, 2] * 0.5, "sum_xy": a[:, 3] * 0.5}
    return ArmStats(a[:, 0], a[:, 1], a[:, 1], **x), ArmStats(a[:, 2], a[:, 3], a[:, 3], **xv)


CALLS = {
    "compare-delta": lambda c, v, k: compare(c, v, kind=k),
    "compare-log": lambda c, v, k: compare(c, v, kind=k, relative="log"),
    "cuped": lambda c, v, k: compare_cuped(c, v, kind=k),
    "sequential": lambda c, v, k: compare_sequential(c, v, kind=k),
    "sequential-cuped": lambda c, v, k: compare_sequential(c, v, kind=k, cuped=True, relative="log"),
}


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize("kind", ["proportion", "mean"])
def test_every_undefined_number_has_a_reason(warnings_as_errors: None, call: str, kind: str) -> None:
    control, variant = _proportion_grid()
    res = CALLS[call](control, variant, kind)
    for field in ("abs_se", "p_value", "rel_lift", "rel_lift_ci_low", "abs_ci_low", "statistic"):
        undefined = np.isnan(getattr(res, field))
        assert undefined.any(), field  # the grid does contain undefined rows
        assert np.all(res.reason[undefined] != ""), field
    fine = res.reason == ""
    assert fine.any()
    assert not np.isnan(res.p_value[fine]).any() and not np.isnan(res.rel_lift_ci_high[fine]).any()
    assert res.method.shape == res.p_value.shape


def test_bayesian_on_grid(warnings_as_errors: None) -> None:
    control, variant = _proportion_grid()
    res = bayesian_summary(control, variant, kind="proportion")
    assert np.all(res.reason[np.isnan(res.prob_beat_control)] != "")


def test_specific_reasons(warnings_as_errors: None) -> None:
    control = ArmStats([1000, 1000, 1000, 1, 0], [0, 1000, 0, 1, 0], [0, 1000, 0, 1, 0])
    variant = ArmStats([1000, 1000, 1000, 1000, 1000], [0, 1000, 30, 30, 30], [0, 1000, 30, 30, 30])
    res = compare(control, variant, kind="proportion")
    assert res.reason[0] == "zero variance in both arms; control mean is 0: relative lift undefined"
    assert res.reason[1] == "zero variance in both arms" and res.rel_lift[1] == 0.0
    assert np.isnan(res.p_value[:2]).all() and np.isnan(res.abs_ci_low[:2]).all()
    assert res.reason[2] == "control mean is 0: relative lift undefined"
    assert res.p_value[2] < 1e-6 and np.isnan(res.rel_lift[2])  # absolute test still defined
    assert res.reason[3] == "control has fewer than 2 units"
    assert res.reason[4] == "control has fewer than 2 units" and np.isnan(res.mean_control[4])
    swapped = compare(variant, control, kind="proportion")
    assert swapped.reason[3] == "variant has fewer than 2 units"


def test_variant_with_no_conversions_has_no_relative_interval(warnings_as_errors: None) -> None:
    res = compare(ArmStats(1000, 50, 50), ArmStats(1000, 0, 0), kind="proportion")
    assert res.rel_lift == -1.0 and np.isnan(res.rel_lift_ci_low)
    assert str(res.reason) == "variant mean and variance are 0: relative interval undefined"
    assert res.p_value < 1e-10


def test_mean_zero_variance_and_log_with_negative_means(warnings_as_errors: None) -> None:
    res = compare(ArmStats(10, 50, 250), ArmStats(10, 60, 360), kind="mean")
    assert str(res.reason) == "zero variance in both arms" and np.isnan(res.df) and np.isnan(res.p_value)
    one_sided = compare(ArmStats(10, 50, 250), ArmStats(10, 60, 400), kind="mean")
    assert str(one_sided.reason) == "" and one_sided.df == pytest.approx(9.0)
    neg = compare(ArmStats(10, -5, 30), ArmStats(10, 5, 30), kind="mean", relative="log")
    assert str(neg.reason) == "control mean is negative: relative lift undefined"
    both_positive_check = compare(ArmStats(10, 5, 30), ArmStats(10, -5, 30), kind="mean", relative="log")
    assert str(both_positive_check.reason) == "log lift needs positive means in both arms"
    assert np.isnan(neg.rel_lift_ci_low) and not np.isnan(neg.p_value)


def test_ratio_with_zero_denominator(warnings_as_errors: None) -> None:
    control = ArmStats([100, 100], [0, 50], [0, 60], sum_den=[0, 100], sum_den_sq=[0, 120], sum_num_den=[0, 55])
    variant = ArmStats([100, 100], [40, 50], [60, 60], sum_den=[90, 0], sum_den_sq=[100, 0], sum_num_den=[50, 0])
    res = compare(control, variant, kind="ratio")
    assert res.reason[0].startswith("control denominator sum is 0")
    assert res.reason[1].startswith("variant denominator sum is 0")
    assert np.isnan(res.p_value).all()


def test_other_functions_quiet_on_degenerate_input(warnings_as_errors: None) -> None:
    assert np.isnan(adjust_pvalues([np.nan])).all()
    res = srm_test([[0, 0, 0], [np.nan, np.nan, np.nan]], [[1, 1, 1], [1, 1, 1]])
    assert np.isnan(res.p_value).all() and not res.is_mismatch.any() and all(res.reason != "")
