"""srm_test(): chi-square goodness of fit against scipy, ragged arms and small counts."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import chisquare

from exptrack_pipeline.stats import srm_test


def test_matches_scipy_chisquare_on_ragged_rows(rng: np.random.Generator) -> None:
    rows, max_arms = 300, 5
    k = rng.integers(2, max_arms + 1, rows)
    weights = np.full((rows, max_arms), np.nan)
    observed = np.full((rows, max_arms), np.nan)
    for i in range(rows):
        w = rng.uniform(0.5, 3.0, k[i])
        observed[i, : k[i]] = rng.multinomial(int(rng.integers(500, 100_000)), w / w.sum())
        if rng.random() < 0.3:  # planned split slightly off -> some mismatches
            w = w * rng.uniform(0.95, 1.05, k[i])
        weights[i, : k[i]] = w * 7.0  # not normalised
    res = srm_test(observed, weights)
    for i in range(rows):
        o = observed[i, : k[i]]
        ref = chisquare(o, f_exp=weights[i, : k[i]] / weights[i, : k[i]].sum() * o.sum())
        assert res.statistic[i] == pytest.approx(ref.statistic, rel=1e-9)
        assert res.p_value[i] == pytest.approx(ref.pvalue, rel=1e-6, abs=1e-300)
        assert res.df[i] == k[i] - 1
    np.testing.assert_array_equal(res.is_mismatch, res.p_value < 0.001)
    assert 0 < res.is_mismatch.sum() < rows


def test_known_mismatch_and_balanced_split() -> None:
    # 50/50 planned, 5,000 vs 5,400 observed: E = 5,200, χ² = 2·200²/5200 = 15.38, p ≈ 8.8e-5
    res = srm_test([[5000, 5400], [5000, 5040]], [0.5, 0.5])
    assert res.statistic[0] == pytest.approx(2 * 200**2 / 5200)
    assert res.p_value[0] == pytest.approx(8.8e-5, rel=0.01)
    assert res.is_mismatch.tolist() == [True, False]
    assert res.reason.tolist() == ["", ""]


def test_small_arm_is_not_flagged(warnings_as_errors: None) -> None:
    res = srm_test([[3, 400], [0, 0], [10, 12]], [[1, 1], [1, 1], [1, 1]], min_count_per_arm=5)
    assert res.is_mismatch.tolist() == [False, False, False]
    assert "fewer than 5 units" in res.reason[0]
    assert res.reason[1] == "no units observed" and np.isnan(res.p_value[1])
    assert res.reason[2] == ""


def test_missing_arms_zero_weight_and_single_arm(warnings_as_errors: None) -> None:
    res = srm_test(
        [[100, 100, np.nan], [100, 100, 30], [100, 100, 0], [500, np.nan, np.nan]],
        [[1, 1, np.nan], [1, 1, 0], [1, 1, 0], [1, np.nan, np.nan]],
    )
    assert res.df[0] == 1 and res.p_value[0] == pytest.approx(1.0)
    assert res.is_mismatch[1] and res.p_value[1] == 0.0 and "expected weight 0" in res.reason[1]
    assert not res.is_mismatch[2] and res.reason[2] == "" and res.df[2] == 1
    assert np.isnan(res.p_value[3]) and res.reason[3] == "fewer than 2 arms with positive weight"


def test_false_positive_rate_under_correct_split(rng: np.random.Generator) -> None:
    reps = 20_000
    obs = rng.multinomial(10_000, [0.2, 0.3, 0.5], reps).astype(float)
    res = srm_test(obs, [2, 3, 5], threshold=0.05)
    assert abs(res.is_mismatch.mean() - 0.05) < 3 * np.sqrt(0.05 * 0.95 / reps)
