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


def _arm(row: pd.Series) -> ArmStats:
    return ArmStats(**{c: np.array([float(row[c])]) for c in STATS})


def _covariance(first: pd.Series, second: pd.Series, kind: str) -> float:
    if not set(CROSS) <= set(first.index) or pd.isna(first["sum_cross"]):
        return 0.0
    cross = [float(first[c]) if pd.notna(first[c]) else np.nan for c in CROSS]
    return float(paired_mean_covariance(_arm(first), _arm(second), kind, *cross)[0])  # type: ignore[arg-type]


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
    lift
    within `by == first` and within `by == second`, their difference, its p-value, and the Bonferroni-adjusted p-value
    over the experiment's pairs (`per_experiment`) or over every row. `paired`: the same units are in both groups
    (use the cross-period sums).

    `stats`: sufficient statistics rows with metric_id, stat_kind, variant, is_control, `by` and the STATS columns.
    """
    keys = [k for k in ("experiment_id", "other_experiment_id") if k in stats.columns]
    out = []
    for group_key, part in stats.groupby([*keys, "metric_id"], dropna=False, sort=True):
        kind = str(part["stat_kind"].iloc[0])
        control = part[part["is_control"]].set_index(by)
        for variant, rows in part[~part["is_control"]].groupby("variant", sort=True):
            rows = rows.set_index(by)
            row = dict(
                zip([*keys, "metric_id"], group_key if isinstance(group_key, tuple) else (group_key,), strict=True)
            )
            row["variant"] = variant
            if not {first, second} <= set(control.index) or not {first, second} <= set(rows.index):
                out.append(
                    row
                    | {
                        f"lift_{first}": np.nan,
                        f"lift_{second}": np.nan,
                        "difference": np.nan,
                        f"n_{first}": 0,
                        f"n_{second}": 0,
                        "p_value": np.nan,
                    }
                )
                continue
            c1, c2, v1, v2 = control.loc[first], control.loc[second], rows.loc[first], rows.loc[second]
            res = compare_lift_difference(
                _arm(c1),
                _arm(v1),
                _arm(c2),
                _arm(v2),
                kind=kind,  # type: ignore[arg-type]
                cov_control=_covariance(c1, c2, kind) if paired else 0.0,
                cov_variant=_covariance(v1, v2, kind) if paired else 0.0,
            )
            out.append(
                row
                | {
                    f"lift_{first}": float(res.lift_1[0]),
                    f"lift_{second}": float(res.lift_2[0]),
                    "difference": float(res.difference[0]),
                    f"n_{first}": int(c1["n"] + v1["n"]),
                    f"n_{second}": int(c2["n"] + v2["n"]),
                    "p_value": float(res.p_value[0]),
                }
            )
    frame = pd.DataFrame(out)
    if frame.empty:
        return frame
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
