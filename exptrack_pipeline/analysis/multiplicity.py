"""The multiple-comparison procedure of each experiment: adjusted p-values and the level of the intervals shown.

Families are those of results.py (experiment × analysis date × primary/guardrail metric, or × all secondary metrics);
m = the family's comparisons that have a fixed-horizon test. The procedure is the experiment's
`success_criteria.correction`, else the catalog's `default_correction`, else bonferroni:

- bonferroni: adjusted p = min(1, m·p) (Dunn 1961); intervals at 1 − α/m, simultaneous, agreeing with the
  adjusted p-values.
- holm: step-down adjusted p (Holm 1979); intervals at 1 − α/m (Bonferroni-level). Holm's consistent simultaneous
  intervals (Strassburger & Bretz 2008) say nothing beyond the sign for the rejected hypotheses, so the Bonferroni
  ones are shown: valid, but a Holm rejection can sit beside an interval that touches 0.
- bh: step-up FDR-adjusted p (Benjamini & Hochberg 1995); intervals at 1 − max(R, 1)·α/m, R = the family's
  rejections: the FCR-adjusted intervals of Benjamini & Yekutieli (2005, JASA 100:71), which exclude 0 exactly for
  the rejected rows.
Adjusted p-values come from stats.adjust_pvalues (equal to statsmodels ``multipletests``).

The same procedure adjusts the fixed-horizon, always-valid and CUPED p-values, each with its own R for bh. Rows
counted in m whose p-value of one kind is missing (an exact-test row has no always-valid p) enter that kind's
procedure as p = 1 (conservative), and come out NaN.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from exptrack_pipeline.stats import adjust_pvalues

PROCEDURES = ("bonferroni", "holm", "bh")
DEFAULT_PROCEDURE = "bonferroni"


def procedures(experiment_ids: pd.Series, corrections: pd.Series | None) -> np.ndarray:
    """Per row, the experiment's procedure (bonferroni where none is given)."""
    if corrections is None or corrections.empty:
        return np.full(len(experiment_ids), DEFAULT_PROCEDURE, dtype=object)
    named = experiment_ids.map(corrections).fillna(DEFAULT_PROCEDURE).to_numpy(dtype=object)
    unknown = sorted(set(named) - set(PROCEDURES))
    if unknown:
        raise ValueError(f"unknown multiple-comparison procedure(s) {unknown}; use one of {PROCEDURES}")
    return named


def adjust(p: np.ndarray, family: np.ndarray, m: np.ndarray, counted: np.ndarray, procedure: np.ndarray) -> np.ndarray:
    """Adjusted p-values with each row's procedure over its family of m counted rows (see the module docstring)."""
    p = np.asarray(p, dtype=float)
    out = np.minimum(p * m, 1.0)  # bonferroni with the family's m, NaN stays NaN
    for name in ("holm", "bh"):
        rows = (procedure == name) & counted
        out[(procedure == name) & ~counted] = np.nan
        if rows.any():
            padded = np.where(np.isnan(p[rows]), 1.0, p[rows])
            adjusted = adjust_pvalues(padded, method=name, family=family[rows])
            out[rows] = np.where(np.isnan(p[rows]), np.nan, adjusted)
    return out


def interval_alpha(
    adjusted: np.ndarray, family: np.ndarray, m: np.ndarray, alpha: np.ndarray, procedure: np.ndarray
) -> np.ndarray:
    """Per row the a of the 1 − a intervals: α/m, or max(R, 1)·α/m for bh (R = the family's rejections)."""
    rejected = pd.Series(np.nan_to_num(adjusted, nan=1.0) < alpha).groupby(family).transform("sum").to_numpy()
    factor = np.where(procedure == "bh", np.maximum(rejected, 1), 1)
    return alpha * factor / m
