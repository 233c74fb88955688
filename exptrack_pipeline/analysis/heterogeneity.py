"""Does the lift depend on time since exposure (novelty) or on another experiment's arm (interaction)? Pure.

Both compare two relative lifts of the primary metric with `stats.lift_difference.compare_lift_difference`:
novelty compares the early and late periods of the *same* units (dbt `lifecycle_novelty_stats`, with cross-period
sums for the within-unit covariance); interactions compare the units in the other experiment's control with those in
its treatment (disjoint units, `lifecycle_interaction_stats`). Bonferroni (`stats.adjust_pvalues`): novelty over one
experiment's variants; interactions over **every pair tested in the portfolio** (experiment × other experiment ×
variant), because the question "does any concurrent launch interact?" is asked of the whole portfolio every day —
testing each experiment's pairs at α separately flags a false interaction in ≈ 1 − (1 − α)^experiments of A/A
portfolios (the demo flagged checkout × signup at p adj 0.013 with no interaction in its ground truth; over its 10
pairs it is 0.067). Monitoring (level-1 alert) and the experiment report read the same frames.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from exptrack_pipeline.stats import ArmStats, adjust_pvalues
from exptrack_pipeline.stats.lift_difference import compare_lift_difference, paired_mean_covariance

STATS = ["n", "sum", "sum_sq", "sum_den", "sum_den_sq", "sum_num_den"]
CROSS = ["sum_cross", "sum_cross_num_den", "sum_cross_den_num", "sum_cross_den"]


def _arms(frame: pd.DataFrame) -> ArmStats:
    return ArmStats(**{c: frame[c].to_numpy(dtype=np.float64) for c in STATS})


def _covariances(first: pd.DataFrame, second: pd.DataFrame, kind: str) -> np.ndarray:
    """Cov of an arm's means in the two groups, row-wise; 0 where the frame has no cross sums (disjoint units)."""
    if not set(CROSS) <= set(first.columns):
        return np.zeros(len(first))
    cross = [first[c].to_numpy(dtype=np.float64) for c in CROSS]
    cov = paired_mean_covariance(_arms(first), _arms(second), kind, *cross)  # type: ignore[arg-type]
    return np.where(np.isnan(cross[0]), 0.0, cov)


def _side(pairs: pd.DataFrame, rows: pd.DataFrame, by: str, value: str, on: list[str]) -> pd.DataFrame:
    """`rows` with `by == value` aligned to `pairs` (left join on `on`; `_found` marks a matched row)."""
    picked = rows.loc[rows[by] == value, [*on, *STATS, *[c for c in CROSS if c in rows.columns]]].assign(_found=1)
    side = pairs[on].merge(picked, on=on, how="left", validate="many_to_one")
    side["_found"] = side["_found"].notna()
    return side


def lift_difference(
    stats: pd.DataFrame,
    by: str,
    first: str,
    second: str,
    alpha: float,
    paired: bool = False,
    per_experiment: bool = True,
) -> pd.DataFrame:
    """Per experiment (when the column is there), other experiment (when there), metric and non-control variant: the
    lift within `by == first` and within `by == second`, their difference, its p-value, and the Bonferroni-adjusted
    p-value over the experiment's pairs (`per_experiment`) or over every row. `paired`: the same units are in both
    groups (use the cross-period sums). Vectorised: one `compare_lift_difference` call per stat kind over every
    pair of the frame (a portfolio's interactions are thousands of pairs).

    `stats`: sufficient statistics rows with metric_id, stat_kind, variant, is_control, `by` and the STATS columns.
    """
    keys = [k for k in ("experiment_id", "other_experiment_id") if k in stats.columns]
    group = [*keys, "metric_id"]
    if stats.empty:
        return pd.DataFrame()
    is_control = stats["is_control"].astype(bool)
    pairs = (
        stats.loc[~is_control, [*group, "variant"]]
        .drop_duplicates()
        .sort_values([*group, "variant"], kind="stable")
        .reset_index(drop=True)
    )
    if pairs.empty:
        return pd.DataFrame()
    kinds = stats.groupby(group, dropna=False, sort=False)["stat_kind"].first().rename("_kind").reset_index()
    pairs = pairs.merge(kinds, on=group, how="left", validate="many_to_one")
    control, variant = stats[is_control], stats[~is_control]
    c1, c2 = _side(pairs, control, by, first, group), _side(pairs, control, by, second, group)
    v1, v2 = (_side(pairs, variant, by, value, [*group, "variant"]) for value in (first, second))
    found = (c1["_found"] & c2["_found"] & v1["_found"] & v2["_found"]).to_numpy()
    lift_1, lift_2, difference, p_value = (np.full(len(pairs), np.nan) for _ in range(4))
    for kind in pairs.loc[found, "_kind"].astype(str).unique():
        at = found & (pairs["_kind"].astype(str) == kind).to_numpy()
        sub = [side[at] for side in (c1, v1, c2, v2)]
        res = compare_lift_difference(
            *(_arms(side) for side in sub),
            kind=kind,  # type: ignore[arg-type]
            cov_control=_covariances(sub[0], sub[2], kind) if paired else 0.0,
            cov_variant=_covariances(sub[1], sub[3], kind) if paired else 0.0,
        )
        lift_1[at], lift_2[at], difference[at], p_value[at] = res.lift_1, res.lift_2, res.difference, res.p_value
    frame = pairs[[*group, "variant"]].copy()
    frame[f"lift_{first}"], frame[f"lift_{second}"], frame["difference"] = lift_1, lift_2, difference
    frame[f"n_{first}"] = np.where(found, (c1["n"] + v1["n"]).fillna(0), 0).astype(np.int64)
    frame[f"n_{second}"] = np.where(found, (c2["n"] + v2["n"]).fillna(0), 0).astype(np.int64)
    frame["p_value"] = p_value
    family = frame["experiment_id"].to_numpy() if per_experiment and "experiment_id" in frame.columns else None
    frame["p_value_adjusted"] = adjust_pvalues(frame["p_value"].to_numpy(), method="bonferroni", family=family)
    frame["flag"] = frame["p_value_adjusted"] < alpha
    return frame


def novelty_check(stats: pd.DataFrame, direction: str, alpha: float) -> tuple[pd.DataFrame, str]:
    """Early vs late days since exposure (dbt lifecycle_novelty_stats): a lift significantly larger (in the good
    direction) early than late suggests a novelty effect; the reverse, a learning effect."""
    if stats.empty:
        return stats, "not applicable: the primary metric is a retention metric or no unit has two full periods yet"
    frame = lift_difference(stats, "period", "early", "late", alpha, paired=True)
    if frame.empty:
        return frame, "not enough data"
    if frame["p_value"].isna().all():
        return (
            frame,
            "cannot tell: the lift is undefined in one period (e.g. the metric happens only right after exposure)",
        )
    sign = 1.0 if direction == "increase" else -1.0
    notes = []
    for r in frame.itertuples():
        if r.flag:
            kind = "novelty effect (the lift fades)" if sign * r.difference > 0 else "learning effect (the lift grows)"
            notes.append(
                f"{r.variant}: {kind}, early {r.lift_early:+.1%} vs late {r.lift_late:+.1%} (p adj "
                f"{r.p_value_adjusted:.2g})"
            )
    return frame, "; ".join(notes) if notes else "no evidence that the lift changes with time since exposure"


def interaction_check(stats: pd.DataFrame, alpha: float, experiment_id: str | None = None) -> tuple[pd.DataFrame, str]:
    """Lift of an experiment's primary metric among users in another experiment's control vs its treatment.

    `stats`: lifecycle_interaction_stats of the whole portfolio (the correction runs over every pair in it); the frame
    and text returned are `experiment_id`'s rows (all rows when None)."""
    if stats.empty:
        return stats, "no concurrent experiment shares users with this one"
    frame = lift_difference(stats, "other_arm", "control", "treatment", alpha, per_experiment=False)
    if experiment_id is not None and not frame.empty:
        frame = frame[frame["experiment_id"] == experiment_id]
        if frame.empty:
            return frame, "no concurrent experiment shares users with this one"
    if frame.empty:
        return frame, "not enough shared users"
    flagged = frame[frame["flag"]]
    if flagged.empty:
        return frame, f"no interaction detected with {', '.join(sorted(frame['other_experiment_id'].unique()))}"
    return frame, "; ".join(
        f"{r.variant} interacts with {r.other_experiment_id}: lift {r.lift_control:+.1%} in its control vs "
        f"{r.lift_treatment:+.1%} in its treatment (p adj {r.p_value_adjusted:.2g})"
        for r in flagged.itertuples()
    )
