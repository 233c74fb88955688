"""Fisher's exact test without scipy.stats (stats/fisher.py) against scipy.stats.fisher_exact itself.

The module reimplements scipy's 2 × 2 algorithm on the same Boost hypergeometric functions, so every p-value must be
scipy's exactly (==), for each alternative, over a grid that covers ties with the observed table (symmetric
margins), both tails, empty rows or columns, and large arms with few conversions (the low-count rows the pipeline
sends here).
"""

from __future__ import annotations

import itertools
import subprocess
import sys

import pytest
import scipy.stats as st

from exptrack_pipeline.stats.exact import exact_pvalues
from exptrack_pipeline.stats.fisher import fisher_pvalue

SMALL = [
    [[a, b], [c, d]] for a, b, c, d in itertools.product(range(0, 7), range(0, 7), range(0, 9, 2), range(0, 12, 3))
]
LARGE = [
    [[0, 5], [1000, 995]],
    [[5, 0], [995, 1000]],
    [[3, 9], [99_997, 199_991]],
    [[1, 1], [50_000, 50_000]],
    [[2, 7], [4_998, 12_000]],
    [[40, 2], [60, 98]],
    [[0, 0], [10, 20]],
    [[7, 7], [0, 0]],
]


@pytest.mark.parametrize("alternative", ["two-sided", "less", "greater"])
def test_equals_scipy_on_every_table(alternative):
    mismatches = [
        (table, fisher_pvalue(table, alternative), st.fisher_exact(table, alternative=alternative).pvalue)
        for table in SMALL + LARGE
        if fisher_pvalue(table, alternative) != st.fisher_exact(table, alternative=alternative).pvalue
    ]
    assert mismatches == []


def test_rejects_bad_input():
    with pytest.raises(ValueError, match="alternative"):
        fisher_pvalue([[1, 2], [3, 4]], "two_sided")
    with pytest.raises(ValueError, match=">= 0"):
        fisher_pvalue([[1, -2], [3, 4]])


def test_pipeline_fisher_does_not_import_scipy_stats():
    """The point of the module: a run whose exact tests are Fisher's never imports scipy.stats."""
    code = (
        "import sys; from exptrack_pipeline.stats.exact import exact_pvalues; "
        "p = exact_pvalues([0, 3], [1000, 50], [5, 1], [1000, 60], test='fisher', side=[0, 1]); "
        "print(repr(list(p)), 'scipy.stats' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[-1] == "False"
    expected = [
        st.fisher_exact([[5, 0], [995, 1000]]).pvalue,
        st.fisher_exact([[1, 3], [59, 47]], alternative="greater").pvalue,
    ]
    assert list(exact_pvalues([0, 3], [1000, 50], [5, 1], [1000, 60], test="fisher", side=[0, 1])) == expected
