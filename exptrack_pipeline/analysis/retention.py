"""Day-n retention per variant from the cohort matrix, with Wilson intervals and the comparison with control."""

from __future__ import annotations

import pandas as pd

from exptrack_pipeline.schemas import RetentionResults
from exptrack_pipeline.stats import ArmStats, compare
from exptrack_pipeline.stats.intervals import wilson_interval

RETENTION_DAYS = (1, 7, 30)


def compute_retention_results(cohorts: pd.DataFrame, controls: pd.Series, alpha: float = 0.05) -> pd.DataFrame:
    """Dn retention = Σ retained on day n / Σ eligible for day n over every cohort old enough (day n observed).

    Every arm gets a row for each of D1, D7 and D30; with no cohort old enough yet, eligible_units is 0 and the rate
    NaN.

    `controls` maps experiment_id to its control variant. The lift vs control is the unpooled two-proportion z test
    of the statistics library (units are users; each user is in one cohort).
    """
    days = cohorts[cohorts["day_since_exposure"].isin(RETENTION_DAYS)]
    rates = (
        days.groupby(["experiment_id", "variant", "day_since_exposure"], as_index=False)[
            ["eligible_units", "retained_units"]
        ]
        .sum()
        .rename(columns={"day_since_exposure": "retention_day"})
    )
    arms = cohorts[["experiment_id", "variant"]].drop_duplicates()
    grid = arms.merge(pd.DataFrame({"retention_day": list(RETENTION_DAYS)}), how="cross")
    rates = grid.merge(rates, on=["experiment_id", "variant", "retention_day"], how="left").fillna(
        {"eligible_units": 0, "retained_units": 0}
    )
    rates[["eligible_units", "retained_units"]] = rates[["eligible_units", "retained_units"]].astype("int64")
    rates["is_control"] = rates["variant"] == rates["experiment_id"].map(controls)
    rates["retention_rate"] = rates["retained_units"] / rates["eligible_units"].where(rates["eligible_units"] > 0)
    rates["ci_low"], rates["ci_high"] = wilson_interval(rates["retained_units"], rates["eligible_units"], alpha)
    control = rates[rates["is_control"]][["experiment_id", "retention_day", "eligible_units", "retained_units"]]
    merged = rates.merge(control, on=["experiment_id", "retention_day"], suffixes=("", "_control"), how="left")
    n_c, x_c = (
        merged["eligible_units_control"].fillna(0).to_numpy(float),
        merged["retained_units_control"].fillna(0).to_numpy(float),
    )
    n_v, x_v = merged["eligible_units"].to_numpy(float), merged["retained_units"].to_numpy(float)
    comparison = compare(
        ArmStats(n=n_c, sum=x_c, sum_sq=x_c), ArmStats(n=n_v, sum=x_v, sum_sq=x_v), kind="proportion", alpha=alpha
    )
    merged["rel_lift_vs_control"] = comparison.rel_lift
    merged["p_value_vs_control"] = comparison.p_value
    merged.loc[merged["is_control"], ["rel_lift_vs_control", "p_value_vs_control"]] = float("nan")
    columns = list(RetentionResults.to_schema().columns)
    return RetentionResults.validate(
        merged[columns].sort_values(["experiment_id", "retention_day", "variant"]).reset_index(drop=True)
    )
