"""adjust_pvalues() against statsmodels multipletests, family by family."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from exptrack_pipeline.stats import adjust_pvalues, bonferroni_alpha

SM_NAME = {"bonferroni": "bonferroni", "holm": "holm", "bh": "fdr_bh"}


@pytest.mark.parametrize("method", ["bonferroni", "holm", "bh"])
def test_matches_multipletests_within_each_family(rng: np.random.Generator, method: str) -> None:
    # statsmodels' holm takes ~0.1 s per call, so fewer (larger) families for it
    sizes = rng.integers(1, 12, 250) if method != "holm" else rng.integers(5, 25, 30)
    family = np.repeat([f"exp{i}:metric" for i in range(sizes.size)], sizes)
    p = np.where(rng.random(family.size) < 0.3, rng.random(family.size) ** 4, rng.random(family.size))
    p[rng.integers(0, p.size, 20)] = 0.5  # ties
    shuffle = rng.permutation(p.size)
    p, family = p[shuffle], family[shuffle]
    adjusted = adjust_pvalues(p, method=method, family=family)
    for label in np.unique(family):
        mask = family == label
        expected = multipletests(p[mask], method=SM_NAME[method])[1]
        np.testing.assert_allclose(adjusted[mask], expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("method", ["bonferroni", "holm", "bh"])
def test_single_family_and_tiny_pvalues(rng: np.random.Generator, method: str) -> None:
    p = np.r_[1e-300, 1e-12, 1e-10, rng.random(200)]
    np.testing.assert_allclose(
        adjust_pvalues(p, method=method), multipletests(p, method=SM_NAME[method])[1], rtol=1e-12
    )


def test_nan_pvalues_stay_nan_and_do_not_count() -> None:
    p = np.array([0.01, np.nan, 0.02, 0.04])
    fam = np.array(["a", "a", "a", "b"])
    out = adjust_pvalues(p, method="bonferroni", family=fam)
    np.testing.assert_allclose(out, [0.02, np.nan, 0.04, 0.04])
    assert np.isnan(adjust_pvalues([np.nan, np.nan], method="holm")).all()


def test_hand_worked_example() -> None:
    # Benjamini–Hochberg by hand: p = .01 .04 .03 .005, m = 4 -> sorted .005 .01 .03 .04
    # raw m p/j = .02 .02 .04 .04 -> cummin from the top leaves them unchanged
    np.testing.assert_allclose(adjust_pvalues([0.01, 0.04, 0.03, 0.005], method="bh"), [0.02, 0.04, 0.04, 0.02])
    # Holm: (4,3,2,1)·sorted = .02 .03 .06 .04 -> running max .02 .03 .06 .06
    np.testing.assert_allclose(adjust_pvalues([0.01, 0.04, 0.03, 0.005], method="holm"), [0.03, 0.06, 0.06, 0.02])


def test_bonferroni_alpha() -> None:
    np.testing.assert_allclose(bonferroni_alpha(0.05, [1, 2, 4]), [0.05, 0.025, 0.0125])
    with pytest.raises(ValueError):
        adjust_pvalues([0.1], method="sidak")  # type: ignore[arg-type]
