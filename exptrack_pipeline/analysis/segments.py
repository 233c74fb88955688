"""Segment results: the fixed-horizon comparison per user-attribute value, with SRM per segment and a size warning."""

from __future__ import annotations

import numpy as np
import pandas as pd

from exptrack_pipeline.analysis.results import bonferroni, by_kind, family_size, pair_with_control
from exptrack_pipeline.schemas import SegmentResults
from exptrack_pipeline.stats import compare, srm_test

SEGMENT_KEYS = ["experiment_id", "metric_id", "attribute", "attribute_value", "analysis_date"]
MIN_UNITS_PER_ARM = 200
"""Below this many units in an arm a segment's result is flagged as too small to say anything."""


def segment_srm(exposures: pd.DataFrame, threshold: float = 0.001) -> pd.DataFrame:
    """χ² SRM p-value per experiment × attribute × value against the design weights."""
    keys = ["experiment_id", "attribute", "attribute_value"]
    observed = exposures.pivot_table(index=keys, columns="variant", values="units", aggfunc="sum")
    weights = exposures.pivot_table(index=keys, columns="variant", values="design_weight", aggfunc="first")
    weights = weights.reindex(columns=observed.columns)
    # a variant absent from a segment has 0 units there (only if the experiment has that variant at all)
    observed = observed.where(weights.notna(), np.nan).fillna(0).where(weights.notna())
    result = srm_test(observed.to_numpy(), weights.to_numpy(), threshold=threshold)
    return pd.DataFrame({"srm_p_value": result.p_value}, index=observed.index).reset_index()


def compute_segment_results(stats: pd.DataFrame, exposures: pd.DataFrame, alphas: pd.Series) -> pd.DataFrame:
    """Per segment: lift, Fieller CI (Bonferroni over the tested variants, as in results.py), p-value, the segment's SRM
    p-value and a warning."""
    pairs = pair_with_control(stats, SEGMENT_KEYS).sort_values([*SEGMENT_KEYS, "variant"]).reset_index(drop=True)
    if pairs.empty:
        return SegmentResults.validate(
            pd.DataFrame({c: pd.Series(dtype="object") for c in SegmentResults.to_schema().columns})
        )
    family = pairs[SEGMENT_KEYS].astype(str).agg("|".join, axis=1).to_numpy()
    alpha = pairs["experiment_id"].map(alphas).to_numpy(dtype=float)
    m = family_size(by_kind(pairs, lambda c, v, kind, part: compare(c, v, kind=kind))["p_value"], family)
    f = by_kind(
        pairs, lambda c, v, kind, part: compare(c, v, kind=kind, alpha=(alpha / m)[part.index], relative="fieller")
    )
    srm = segment_srm(exposures)
    out = pd.DataFrame(
        {
            "experiment_id": pairs["experiment_id"],
            "metric_id": pairs["metric_id"],
            "metric_role": pairs["metric_role"],
            "variant": pairs["variant"],
            "control_variant": pairs["control_variant"],
            "attribute": pairs["attribute"],
            "attribute_value": pairs["attribute_value"],
            "analysis_date": pairs["analysis_date"],
            "n_control": pairs["n_c"].astype("int64"),
            "n_variant": pairs["n_v"].astype("int64"),
            "mean_control": f["mean_control"],
            "mean_variant": f["mean_variant"],
            "rel_lift": f["rel_lift"],
            "rel_lift_ci_low": f["rel_lift_ci_low"],
            "rel_lift_ci_high": f["rel_lift_ci_high"],
            "p_value": f["p_value"],
            "p_value_adjusted": bonferroni(f["p_value"], m),
        }
    ).merge(srm, on=["experiment_id", "attribute", "attribute_value"], how="left")
    small = (out["n_control"] < MIN_UNITS_PER_ARM) | (out["n_variant"] < MIN_UNITS_PER_ARM)
    warning = np.where(small, f"too small to say anything: fewer than {MIN_UNITS_PER_ARM} units in an arm", "")
    reason = pd.Series(f["reason"], index=out.index).fillna("")
    out["warning"] = [w if w else r for w, r in zip(warning, reason, strict=True)]
    return SegmentResults.validate(out)
