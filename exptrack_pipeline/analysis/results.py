"""experiment_results from fct_variant_metric_stats: every metric, every non-control variant, every analysis date.

Family corrected (Bonferroni, Dunn 1961) per experiment × analysis date:
  * primary and guardrail metrics: one family per metric, its non-control variants vs control ("variants × metric";
    a guardrail is never diluted by other metrics, so harm is caught as early as its own test allows);
  * secondary metrics: one family for all of them, "variants × secondary metrics" — many secondary metrics
    would otherwise make a false "better"/"WORSE" on one of them likely (3 metrics at α = 0.05: 14 %).
m counts the comparisons of the family that have a test (a defined fixed-horizon p-value); rows without one (zero
variance, < 2 units, too few events) are not counted. The same m multiplies every p-value (fixed, sequential, CUPED;
capped at 1) and sets every interval's level 1 − alpha/m, so a row is significant by its adjusted p-value exactly when
its interval excludes zero. Relative intervals are Fieller's (stats.fieller_interval), which agree with the absolute
test by construction. Daily decisions read `seq_is_significant` = seq_p_value_adjusted < alpha.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from exptrack_pipeline.analysis.multiplicity import adjust, interval_alpha, procedures
from exptrack_pipeline.analysis.quantiles import QUANTILE_COLUMNS, arm_stats, with_quantile_inputs
from exptrack_pipeline.schemas import ExperimentResults
from exptrack_pipeline.stats import (
    ArmStats,
    bayesian_summary,
    compare,
    compare_cuped,
    compare_sequential,
    mixture_rho,
    sequential_ratio_test,
)

KEYS = ["experiment_id", "metric_id", "analysis_date"]
STAT_COLUMNS = ["n", "sum", "sum_sq", "sum_den", "sum_den_sq", "sum_num_den", "sum_x", "sum_x_sq", "sum_xy"]
# the pre-period denominator sums CUPED on ratio metrics needs; frames without them analyse ratios unadjusted
RATIO_COVARIATE_COLUMNS = ["sum_w", "sum_w_sq", "sum_xw", "sum_xd", "sum_wy", "sum_wd"]


def _stat_columns(frame: pd.DataFrame, suffix: str = "") -> list[str]:
    return STAT_COLUMNS + [c for c in RATIO_COVARIATE_COLUMNS if f"{c}{suffix}" in frame.columns]


def _arms(frame: pd.DataFrame, suffix: str, kind: str = "") -> ArmStats:
    return arm_stats(frame, suffix, kind, _stat_columns(frame, suffix))


def pair_with_control(stats: pd.DataFrame, keys: list[str] = KEYS) -> pd.DataFrame:
    """One row per non-control variant with the control's statistics beside it (suffixes _v and _c)."""
    control = stats[stats["is_control"]][keys + _stat_columns(stats) + [c for c in QUANTILE_COLUMNS if c in stats]]
    variants = stats[~stats["is_control"]]
    return variants.merge(control, on=keys, suffixes=("_v", "_c"), how="inner", validate="many_to_one")


def by_kind(pairs: pd.DataFrame, run) -> dict[str, np.ndarray]:
    """Run `run(control, variant, kind, mask)` per stat kind and scatter the result fields back into full-length
    arrays."""
    out: dict[str, np.ndarray] = {}
    for kind in pairs["stat_kind"].unique():
        mask = (pairs["stat_kind"] == kind).to_numpy()
        part = pairs[mask]
        result = run(_arms(part, "_c", kind), _arms(part, "_v", kind), kind, part)
        for name, values in vars(result).items():
            values = np.asarray(values)
            if values.shape != (mask.sum(),):
                continue
            if name not in out:
                out[name] = np.empty(len(pairs), dtype=values.dtype if values.dtype.kind != "U" else object)
                if values.dtype.kind == "f":
                    out[name][:] = np.nan
            out[name][mask] = values
    return out


def correction_group(pairs: pd.DataFrame) -> pd.Series:
    """The metric part of the Bonferroni family: the metric itself, or one group for all secondary metrics."""
    return pairs["metric_id"].where(pairs["metric_role"] != "secondary", "secondary metrics")


def family_size(p_values: np.ndarray, family: np.ndarray) -> np.ndarray:
    """Per row, m = how many rows of its family have a defined p-value (at least 1)."""
    frame = pd.DataFrame({"family": family, "tested": ~np.isnan(np.asarray(p_values, dtype=float))})
    return np.maximum(frame.groupby("family")["tested"].transform("sum").to_numpy(dtype=np.int64), 1)


def bonferroni(p_values: np.ndarray, m: np.ndarray) -> np.ndarray:
    """min(1, m·p) with the row's own m (Dunn 1961); NaN stays NaN."""
    return np.minimum(np.asarray(p_values, dtype=float) * m, 1.0)


@dataclass(frozen=True)
class HarmTest:
    """Outcome of the always-valid harm test per row: `harmful` is a boolean array aligned with the pairs."""

    harmful: np.ndarray


def harm_margins(pairs: pd.DataFrame, margins: pd.DataFrame | None) -> np.ndarray:
    """Allowed relative harm per row: the guardrail's max_relative_harm from the registry, 0 for other metrics."""
    if margins is None or margins.empty:
        return np.zeros(len(pairs))
    keyed = margins.set_index(["experiment_id", "metric_id"])["max_relative_harm"]
    index = pd.MultiIndex.from_frame(pairs[["experiment_id", "metric_id"]])
    values = keyed.reindex(index).to_numpy(dtype=float)
    return np.where((pairs["metric_role"] == "guardrail").to_numpy() & np.isfinite(values), values, 0.0)


OPTION_DEFAULTS = {"alternative": "two-sided", "exact_test": "fisher", "exact_below": 5.0}


def row_options(pairs: pd.DataFrame, options: pd.DataFrame | None) -> dict[str, np.ndarray]:
    """Per row: the declared alternative, the exact test and its expected-count threshold (registry; else defaults)."""
    out = {name: np.full(len(pairs), default, dtype=object) for name, default in OPTION_DEFAULTS.items()}
    if options is not None and not options.empty:
        keyed = options.set_index(["experiment_id", "metric_id"])
        index = pd.MultiIndex.from_frame(pairs[["experiment_id", "metric_id"]])
        for name, default in OPTION_DEFAULTS.items():
            if name in keyed:
                out[name] = keyed[name].reindex(index).fillna(default).to_numpy(dtype=object)
    out["exact_below"] = out["exact_below"].astype(float)
    return out


def compute_results(
    stats: pd.DataFrame,
    alphas: pd.Series,
    margins: pd.DataFrame | None = None,
    options: pd.DataFrame | None = None,
    corrections: pd.Series | None = None,
    quantiles: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Fixed-horizon, sequential, CUPED and Bayesian summaries for every variant-vs-control pair.

    `alphas` maps experiment_id to the experiment's alpha; `margins` (experiment_id, metric_id,
    max_relative_harm) gives guardrails their allowed harm. `seq_is_harmful`: the always-valid test at
    level alpha/m says the effect is worse than the margin in the metric's bad direction
    (stats.sequential_ratio_test with R = 1 ± margin; margin 0 for primary and secondary metrics).
    `options` (experiment_id, metric_id, alternative, exact_test, exact_below) and `corrections` (experiment_id →
    bonferroni | holm | bh) come from the registry (analysis/multiplicity.py); absent, the defaults apply.
    `quantiles` (fct_variant_metric_quantiles) holds the inputs of quantile metrics (analysis/quantiles.py).
    """
    stats = with_quantile_inputs(stats, quantiles)
    pairs = pair_with_control(stats).sort_values([*KEYS, "variant"]).reset_index(drop=True)
    if pairs.empty:
        return ExperimentResults.validate(
            pd.DataFrame({c: pd.Series(dtype="object") for c in ExperimentResults.to_schema().columns})
        )
    family = (
        pairs["experiment_id"] + "|" + correction_group(pairs) + "|" + pairs["analysis_date"].astype(str)
    ).to_numpy()
    alpha = pairs["experiment_id"].map(alphas).to_numpy(dtype=float)
    opt = row_options(pairs, options)
    procedure = procedures(pairs["experiment_id"], corrections)

    def fixed_at(level):
        def run(c, v, kind, part):
            i = part.index
            choice = {name: opt[name][i] for name in OPTION_DEFAULTS}
            return compare(c, v, kind=kind, alpha=level[i], relative="fieller", **choice)

        return by_kind(pairs, run)

    # one m for p-values and intervals: the family's rows that have a test (the plain estimate decides which)
    tested = fixed_at(alpha)["p_value"]
    m = family_size(tested, family)
    counted = ~np.isnan(tested)
    level_alpha = alpha / m
    rho = mixture_rho(level_alpha)  # the always-valid mixture is tuned at α/m whatever the procedure

    def sequential_at(level):
        def run(c, v, kind, part):
            i = part.index
            return compare_sequential(
                c, v, kind=kind, alpha=level[i], tau=rho[i], relative="fieller", alternative=opt["alternative"][i]
            )

        return by_kind(pairs, run)

    def cuped(c, v, kind, part):
        i = part.index
        return compare_cuped(
            c, v, kind=kind, alpha=level_alpha[i], relative="fieller", alternative=opt["alternative"][i]
        )

    def bayes(c, v, kind, part):
        return bayesian_summary(c, v, kind=kind)

    p_adj = adjust(tested, family, m, counted, procedure)
    fixed_level = interval_alpha(p_adj, family, m, alpha, procedure)
    f = fixed_at(fixed_level)
    s = sequential_at(level_alpha)
    seq_p_adj = adjust(s["p_value"], family, m, counted, procedure)
    if (procedure == "bh").any():
        s = sequential_at(interval_alpha(seq_p_adj, family, m, alpha, procedure))
    cu = by_kind(pairs, cuped)
    b = by_kind(pairs, bayes)

    margin = harm_margins(pairs, margins)
    decrease = (pairs["direction"] == "decrease").to_numpy()
    ratio = np.where(decrease, 1.0 + margin, 1.0 - margin)

    def harm(c, v, kind, part):
        z, q = sequential_ratio_test(c, v, kind=kind, ratio=ratio[part.index], alpha=level_alpha[part.index])
        return HarmTest(np.where(decrease[part.index], z > q, z < -q))

    harmful = by_kind(pairs, harm)["harmful"].astype(bool)
    prob_up = b["prob_beat_control"]
    results = pd.DataFrame(
        {
            "experiment_id": pairs["experiment_id"],
            "metric_id": pairs["metric_id"],
            "metric_role": pairs["metric_role"],
            "metric_kind": pairs["metric_kind"],
            "direction": pairs["direction"],
            "variant": pairs["variant"],
            "control_variant": pairs["control_variant"],
            "analysis_date": pairs["analysis_date"],
            "n_control": pairs["n_c"].astype("int64"),
            "n_variant": pairs["n_v"].astype("int64"),
            "mean_control": f["mean_control"],
            "mean_variant": f["mean_variant"],
            "abs_effect": f["abs_effect"],
            "abs_ci_low": f["abs_ci_low"],
            "abs_ci_high": f["abs_ci_high"],
            "rel_lift": f["rel_lift"],
            "rel_lift_ci_low": f["rel_lift_ci_low"],
            "rel_lift_ci_high": f["rel_lift_ci_high"],
            "p_value": f["p_value"],
            "p_value_adjusted": p_adj,
            "correction": np.where(m > 1, procedure, "none"),
            "correction_procedure": procedure,
            "comparisons": m,
            "alpha": alpha,
            "is_significant": np.nan_to_num(p_adj, nan=1.0) < alpha,
            "method": f["method"],
            "alternative": opt["alternative"],
            "seq_abs_ci_low": s["abs_ci_low"],
            "seq_abs_ci_high": s["abs_ci_high"],
            "seq_rel_lift_ci_low": s["rel_lift_ci_low"],
            "seq_rel_lift_ci_high": s["rel_lift_ci_high"],
            "seq_p_value": s["p_value"],
            "seq_p_value_adjusted": seq_p_adj,
            "seq_is_significant": np.nan_to_num(seq_p_adj, nan=1.0) < alpha,
            "harm_margin": margin,
            "seq_is_harmful": harmful,
            "cuped_rel_lift": cu["rel_lift"],
            "cuped_rel_lift_ci_low": cu["rel_lift_ci_low"],
            "cuped_rel_lift_ci_high": cu["rel_lift_ci_high"],
            "cuped_p_value": cu["p_value"],
            "cuped_p_value_adjusted": adjust(cu["p_value"], family, m, counted, procedure),
            "cuped_variance_reduction": cu.get("variance_reduction"),
            "prob_beat_control": np.where(decrease, 1.0 - prob_up, prob_up),
            # the risk of shipping, in the metric's good direction: for "lower is better" a rise is the loss
            "expected_loss": np.where(decrease, b["expected_loss_control"], b["expected_loss"]),
            "expected_loss_control": np.where(decrease, b["expected_loss"], b["expected_loss_control"]),
            "reason": f["reason"],
        }
    )
    return ExperimentResults.validate(results)
