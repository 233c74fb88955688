"""The warehouse tables the health rules read, as pandas frames (loaded by exptrack_pipeline.notify.health_data)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

FRAME_COLUMNS: dict[str, list[str]] = {
    "experiments": [
        "experiment_id",
        "registry_status",
        "effective_status",
        "start_date",
        "end_date",
        "control_variant",
        "primary_metric_id",
        "alpha",
        "target_power",
        "minimum_detectable_effect",
        "mde_type",
        "as_of",
    ],
    "variants": ["experiment_id", "variant", "weight", "is_control"],
    "daily_exposures": ["experiment_id", "variant", "exposure_date", "design_weight", "new_units", "cumulative_units"],
    "segment_exposures": ["experiment_id", "variant", "design_weight", "attribute", "attribute_value", "units"],
    "exposure_quality": ["experiment_id", "exposed_units", "multi_exposed_units", "multi_exposure_rate"],
    "activity": [
        "experiment_id",
        "activity_date",
        "exposure_rows",
        "first_exposed_units",
        "multi_exposed_units",
        "events",
        "active_units",
    ],
    "metric_daily": [
        "experiment_id",
        "metric_id",
        "variant",
        "activity_date",
        "units_in_window",
        "active_units",
        "numerator",
        "denominator",
        "daily_value",
    ],
    "results": [
        "experiment_id",
        "metric_id",
        "metric_role",
        "direction",
        "variant",
        "control_variant",
        "analysis_date",
        "n_control",
        "n_variant",
        "mean_control",
        "mean_variant",
        "rel_lift",
        "seq_rel_lift_ci_low",
        "seq_rel_lift_ci_high",
        "seq_p_value",
        "seq_p_value_adjusted",
        "seq_is_significant",
        "seq_is_harmful",
        "harm_margin",
        "alpha",
        "comparisons",
    ],
    "stats": [
        "experiment_id",
        "metric_id",
        "stat_kind",
        "variant",
        "is_control",
        "analysis_date",
        "n",
        "sum",
        "sum_sq",
        "sum_den",
        "sum_den_sq",
        "sum_num_den",
        "sum_x",
        "sum_x_sq",
        "sum_xy",
    ],
    "metrics": [
        "experiment_id",
        "metric_id",
        "metric_role",
        "max_relative_harm",
        "stat_kind",
        "metric_kind",
        "direction",
        "window_days",
        "retention_day",
    ],
    "unmatched": ["experiment_id", "variant", "exclusion_reason", "exposure_date", "exposure_rows", "units"],
    "novelty": [
        "experiment_id",
        "metric_id",
        "stat_kind",
        "variant",
        "is_control",
        "period",
        "period_days",
        "n",
        "sum",
        "sum_sq",
        "sum_den",
        "sum_den_sq",
        "sum_num_den",
        "sum_cross",
        "sum_cross_num_den",
        "sum_cross_den_num",
        "sum_cross_den",
    ],
    "interaction": [
        "experiment_id",
        "metric_id",
        "stat_kind",
        "other_experiment_id",
        "other_arm",
        "variant",
        "is_control",
        "n",
        "sum",
        "sum_sq",
        "sum_den",
        "sum_den_sq",
        "sum_num_den",
    ],
    "quantiles": [
        "experiment_id",
        "metric_id",
        "is_control",
        "analysis_date",
        "quantile_level",
        "quantile_granularity",
        "quantile_estimate",
        "quantile_lower",
        "quantile_upper",
        "bound_z",
        "n_obs",
        "n",
        "sum",
        "sum_sq",
        "sum_den",
        "sum_den_sq",
        "sum_num_den",
    ],
}
OPTIONAL_FRAMES = ("unmatched", "novelty", "interaction", "quantiles")
"""Frames that may be absent (older warehouses, unit tests): an empty frame stands in."""
"""Columns each frame must have (more are allowed)."""

DATE_COLUMNS = {"start_date", "end_date", "as_of", "exposure_date", "activity_date", "analysis_date"}


@dataclass(frozen=True)
class HealthInputs:
    """Everything the rules need. `experiments` holds the experiments to judge, with their as-of date.

    `variants` is put in a fixed order (per experiment: control first, then the other arms by name).

    `stats` holds fct_variant_metric_stats at each experiment's as-of date only. Dates are `datetime.date`.
    """

    experiments: pd.DataFrame
    variants: pd.DataFrame
    daily_exposures: pd.DataFrame
    segment_exposures: pd.DataFrame
    exposure_quality: pd.DataFrame
    activity: pd.DataFrame
    metric_daily: pd.DataFrame
    results: pd.DataFrame
    stats: pd.DataFrame
    metrics: pd.DataFrame
    data_through: dt.date | None
    today: dt.date | None = None
    unmatched: pd.DataFrame | None = None
    novelty: pd.DataFrame | None = None
    interaction: pd.DataFrame | None = None
    quantiles: pd.DataFrame | None = None  # fct_variant_metric_quantiles at each experiment's as-of date

    def __post_init__(self) -> None:
        for name in OPTIONAL_FRAMES:
            if getattr(self, name) is None:
                object.__setattr__(self, name, empty_frame(name))
        for name, columns in FRAME_COLUMNS.items():
            frame = getattr(self, name)
            missing = [c for c in columns if c not in frame.columns]
            if missing:
                raise ValueError(
                    f"monitoring input `{name}` lacks columns {missing}; is the warehouse built by `exptrack run`?"
                )
            for column in DATE_COLUMNS & set(frame.columns):
                frame[column] = pd.to_datetime(frame[column]).dt.date
        # Control first, then the other arms by name: a warehouse returns rows in any order (Spark does), and the
        # findings list arms in this order, so their text must not depend on it.
        ordered = self.variants.sort_values(["experiment_id", "is_control", "variant"], ascending=[True, False, True])
        object.__setattr__(self, "variants", ordered.reset_index(drop=True))

    def rows(self, name: str, experiment_id: str) -> pd.DataFrame:
        """The rows of one frame for one experiment."""
        frame: pd.DataFrame = getattr(self, name)
        return frame[frame["experiment_id"] == experiment_id]

    def experiment(self, experiment_id: str) -> pd.Series:
        """The registry row of one experiment."""
        return self.experiments.set_index("experiment_id").loc[experiment_id]


def empty_frame(name: str) -> pd.DataFrame:
    """An empty frame with the columns of input `name` (tests and experiments without data)."""
    return pd.DataFrame({c: pd.Series(dtype="object") for c in FRAME_COLUMNS[name]})
