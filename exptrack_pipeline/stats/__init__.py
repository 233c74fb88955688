"""Pure statistics for exptrack: numpy/scipy only, vectorised over result rows.

Every function takes per-arm sufficient statistics (:class:`ArmStats`) whose fields are
1-D arrays (scalars broadcast) and returns frozen dataclasses of arrays. Undefined numbers
are NaN and come with a ``reason`` string ("" when the row is fine). See docs/statistics.md.
"""

from .arms import ArmStats
from .bayesian import BayesResult, bayesian_summary
from .corrections import adjust_pvalues, bonferroni_alpha, pvalue_reasons
from .cuped import CupedComparison, compare_cuped
from .cuped_moments import expected_variance_reduction
from .effect import fieller_interval
from .frequentist import Comparison, compare
from .power import expected_duration_days, mde_for_sample_size, power_proportion, sample_size_per_arm
from .quantile import QuantileArmStats
from .sequential import (
    always_valid_pvalue,
    compare_sequential,
    mixture_halfwidth_multiplier,
    mixture_rho,
    sequential_ratio_test,
)
from .srm import SrmResult, srm_test

__all__ = [
    "ArmStats",
    "BayesResult",
    "Comparison",
    "CupedComparison",
    "QuantileArmStats",
    "SrmResult",
    "adjust_pvalues",
    "always_valid_pvalue",
    "bayesian_summary",
    "bonferroni_alpha",
    "compare",
    "compare_cuped",
    "compare_sequential",
    "expected_duration_days",
    "expected_variance_reduction",
    "fieller_interval",
    "mde_for_sample_size",
    "mixture_halfwidth_multiplier",
    "mixture_rho",
    "power_proportion",
    "pvalue_reasons",
    "sample_size_per_arm",
    "sequential_ratio_test",
    "srm_test",
]
