"""Quantile metrics in experiment_results: their rows read fct_variant_metric_quantiles instead of per-unit sums.

fct_variant_metric_stats carries every metric, quantile metrics included (their per-unit totals); a quantile's test
needs the order statistics and cluster sums of fct_variant_metric_quantiles (stats/quantile.py), which
:func:`with_quantile_inputs` puts in place of those rows. CUPED does not apply to quantiles (no covariate columns).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from exptrack_pipeline.stats import ArmStats, QuantileArmStats

QUANTILE_COLUMNS = ["quantile_level", "quantile", "quantile_lower", "quantile_upper", "bound_z", "n_obs", "clustered"]
"""Per-arm quantile inputs beside the sums (QuantileArmStats fields)."""

CLUSTER_COLUMNS = ["n", "sum", "sum_sq", "sum_den", "sum_den_sq", "sum_num_den"]
"""The per-unit (cluster) sums of the indicator observation ≤ quantile, in the ratio-metric columns."""


def with_quantile_inputs(stats: pd.DataFrame, quantiles: pd.DataFrame | None) -> pd.DataFrame:
    """`stats` with each quantile metric's rows taken from `quantiles` (fct_variant_metric_quantiles) and the
    QUANTILE_COLUMNS added (NaN on other rows). Without `quantiles` the quantile rows keep their sums, so their
    results are NaN with a reason (stats.quantile.MISSING_INPUTS)."""
    if quantiles is None or quantiles.empty:
        return stats.assign(**dict.fromkeys(QUANTILE_COLUMNS, np.nan))
    inputs = quantiles.rename(columns={"quantile_estimate": "quantile"}).assign(
        clustered=(quantiles["quantile_granularity"] == "event").astype(float),
        sum_x=np.nan,
        sum_x_sq=np.nan,
        sum_xy=np.nan,
        analysis_date=pd.to_datetime(quantiles["analysis_date"]).astype(stats["analysis_date"].dtype),
    )
    for column in stats.columns.difference(inputs.columns):  # CUPED's covariate sums: no CUPED on quantiles
        if column.startswith("sum_"):
            inputs[column] = np.nan
    keys = ["experiment_id", "metric_id", "variant", "analysis_date"]
    replaced = stats.merge(inputs[keys], on=keys, how="left", indicator=True)["_merge"].eq("both").to_numpy()
    rest = stats[~replaced].assign(**dict.fromkeys(QUANTILE_COLUMNS, np.nan))
    return pd.concat([rest, inputs[list(rest.columns)]], ignore_index=True)


def arm_stats(frame: pd.DataFrame, suffix: str, kind: str, stat_columns: list[str]) -> ArmStats:
    """One arm's statistics from paired rows (columns with `suffix`): QuantileArmStats for kind "quantile"."""
    if kind == "quantile" and f"quantile{suffix}" in frame:
        columns = CLUSTER_COLUMNS + QUANTILE_COLUMNS
        return QuantileArmStats(**{c: frame[f"{c}{suffix}"].to_numpy(dtype=float) for c in columns})
    return ArmStats(**{c: frame[f"{c}{suffix}"].to_numpy(dtype=float) for c in stat_columns})
