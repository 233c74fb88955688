"""Exact tests at low counts (stats/exact.py, small_sample.py) and the score intervals beside them (stats/score.py).

References: scipy.stats fisher_exact / boschloo_exact / barnard_exact; Newcombe (1998) "Interval estimation for the
difference between independent proportions", Statist. Med. 17:873, Table II method 10 (Miettinen–Nurminen score);
statsmodels confint_proportions_2indep(method="score", compare="ratio"); an independent numerical inversion.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize as opt
import scipy.stats as st
from statsmodels.stats.proportion import confint_proportions_2indep

from exptrack_pipeline.stats import ArmStats, compare
from exptrack_pipeline.stats.exact import exact_pvalues
from exptrack_pipeline.stats.score import score_interval_diff, score_interval_ratio

Z95 = st.norm.ppf(0.975)


def arms(xc, nc, xv, nv):
    xc, nc, xv, nv = (np.asarray(v, dtype=float) for v in (xc, nc, xv, nv))
    return ArmStats(nc, xc, xc), ArmStats(nv, xv, xv)


@pytest.mark.parametrize(
    ("table", "low", "high"),
    [
        ((56, 70, 48, 80), 0.0528, 0.3382),
        ((9, 10, 3, 10), 0.1700, 0.8406),
        ((0, 10, 0, 20), -0.1658, 0.2844),
        ((0, 10, 0, 10), -0.2879, 0.2879),
    ],
)
def test_score_interval_reproduces_newcombe_1998_table_ii(table, low, high) -> None:
    """Newcombe (1998) Table II, method 10 (Miettinen–Nurminen), 95 %, quoted to 4 decimals."""
    got = score_interval_diff(*table, Z95, Z95)
    assert got[0] == pytest.approx(low, abs=6e-5) and got[1] == pytest.approx(high, abs=6e-5)


def _independent_score_z(x1, n1, x2, n2, delta):
    """Score z at Δ with the constrained MLE found numerically (no closed form)."""

    def nll(p2):
        p1 = p2 + delta
        return -(x1 * np.log(p1) + (n1 - x1) * np.log1p(-p1) + x2 * np.log(p2) + (n2 - x2) * np.log1p(-p2))

    lo, hi = max(0.0, -delta) + 1e-12, min(1.0, 1.0 - delta) - 1e-12
    p2 = opt.minimize_scalar(nll, bounds=(lo, hi), method="bounded", options={"xatol": 1e-13}).x
    p1 = p2 + delta
    var = (p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2) * (n1 + n2) / (n1 + n2 - 1)
    return (x1 / n1 - x2 / n2 - delta) / np.sqrt(var)


def test_score_interval_bounds_solve_the_score_equation_numerically(rng: np.random.Generator) -> None:
    for _ in range(15):
        n1, n2 = rng.integers(20, 400, 2)
        x1, x2 = rng.integers(1, 8), rng.integers(1, 8)
        low, high = score_interval_diff(x1, n1, x2, n2, Z95, Z95)
        assert _independent_score_z(x1, n1, x2, n2, float(low)) == pytest.approx(Z95, abs=2e-4)
        assert _independent_score_z(x1, n1, x2, n2, float(high)) == pytest.approx(-Z95, abs=2e-4)


def test_score_ratio_interval_matches_statsmodels(rng: np.random.Generator) -> None:
    for _ in range(15):
        n1, n2 = rng.integers(20, 2000, 2)
        x1, x2 = rng.integers(0, 10), rng.integers(1, 10)
        low, high = score_interval_ratio(x1, n1, x2, n2, Z95, Z95)
        ref = confint_proportions_2indep(x1, n1, x2, n2, method="score", compare="ratio")
        assert float(low) == pytest.approx(ref[0], rel=1e-6, abs=1e-9)
        assert float(high) == pytest.approx(ref[1], rel=1e-6)


@pytest.mark.parametrize("test", ["fisher", "boschloo", "barnard"])
@pytest.mark.parametrize(("side", "alternative"), [(0, "two-sided"), (1, "greater"), (-1, "less")])
def test_exact_pvalues_are_scipys_with_the_variant_as_first_column(test, side, alternative) -> None:
    tables = [(0, 40, 4, 40), (3, 30, 1, 25), (2, 50, 2, 60)]  # (x_c, n_c, x_v, n_v)
    xc, nc, xv, nv = (np.array(v, dtype=float) for v in zip(*tables, strict=True))
    got = exact_pvalues(xc, nc, xv, nv, test=test, side=side)
    scipy_test = {"fisher": st.fisher_exact, "boschloo": st.boschloo_exact, "barnard": st.barnard_exact}[test]
    for i, (c, n_c, v, n_v) in enumerate(tables):
        ref = scipy_test([[v, c], [n_v - v, n_c - c]], alternative=alternative).pvalue
        assert got[i] == pytest.approx(ref, rel=1e-12)
    if side == 1:  # H1 p_v > p_c: 4/40 vs 0/40 is evidence, the reverse table is not
        assert got[0] < 0.1 and exact_pvalues(4, 40, 0, 40, test=test, side=1) > 0.5


def test_compare_chooses_the_exact_test_below_the_threshold_only() -> None:
    control, variant = arms([0, 2, 200], [1000, 1000, 1000], [5, 6, 260], [1000, 1000, 1000])
    res = compare(control, variant, kind="proportion", exact_test=["fisher", "boschloo", "fisher"])
    assert list(res.method) == ["fisher_exact", "fisher_exact", "z_unpooled"]  # Boschloo too costly at 1000/arm
    assert "Fisher's exact test used" in res.reason[1]
    small = compare(*arms(1, 60, 6, 60), kind="proportion", exact_test="boschloo")
    assert small.method == "boschloo_exact"
    assert small.p_value == pytest.approx(st.boschloo_exact([[6, 1], [54, 59]]).pvalue, rel=1e-12)
    wider = compare(*arms(10, 400, 22, 400), kind="proportion", exact_below=20)  # 16 expected: exact by option
    assert wider.method == "fisher_exact" and compare(*arms(10, 400, 22, 400), kind="proportion").method == "z_unpooled"


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_exact_rows_intervals_exclude_zero_exactly_when_p_is_below_alpha(rng, alternative) -> None:
    n = rng.integers(50, 3000, 400).astype(float)
    xc = rng.binomial(n.astype(int), 0.002).astype(float)
    xv = rng.binomial(n.astype(int), 0.004).astype(float)
    alpha = rng.choice([0.01, 0.05, 0.1, 0.2], 400)
    res = compare(*arms(xc, n, xv, n), kind="proportion", alpha=alpha, relative="fieller", alternative=alternative)
    exact = res.method == "fisher_exact"
    assert exact.sum() > 100
    rejects = res.p_value[exact] < alpha[exact]
    assert rejects.any() and not rejects.all()
    np.testing.assert_array_equal((res.abs_ci_low[exact] > 0) | (res.abs_ci_high[exact] < 0), rejects)
    rel = exact & np.isfinite(res.rel_lift)
    np.testing.assert_array_equal(
        (res.rel_lift_ci_low[rel] > 0) | (res.rel_lift_ci_high[rel] < 0), res.p_value[rel] < alpha[rel]
    )


def test_type_one_error_and_coverage_at_low_counts() -> None:
    """A/A at 0.3 % with 1,000 units per arm (3 expected events): Fisher rejects ≤ α; Wald would exceed it.

    And with a real difference (0.3 % vs 0.9 %), the test-based score interval covers it ≥ 95 % within noise.
    """
    rng = np.random.default_rng(19)
    sims, n = 4000, np.full(4000, 1000.0)
    xc, xv = rng.binomial(1000, 0.003, sims).astype(float), rng.binomial(1000, 0.003, sims).astype(float)
    res = compare(*arms(xc, n, xv, n), kind="proportion")
    exact = res.method == "fisher_exact"
    assert exact.mean() > 0.9
    noise = 2 * np.sqrt(0.05 * 0.95 / sims)
    assert np.mean(np.nan_to_num(res.p_value, nan=1.0) < 0.05) <= 0.05 + noise
    wald = compare(*arms(xc, n, xv, n), kind="proportion", exact_below=0)  # exact switched off below the gate
    assert np.all(np.isnan(wald.p_value[exact]))  # the Wald test is withheld there, never reported
    xv = rng.binomial(1000, 0.009, sims).astype(float)
    res = compare(*arms(xc, n, xv, n), kind="proportion")
    covered = (res.abs_ci_low <= 0.006) & (res.abs_ci_high >= 0.006)
    assert covered.mean() >= 0.95 - noise
