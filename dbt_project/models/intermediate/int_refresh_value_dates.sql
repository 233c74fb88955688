{{ exptrack_require_built_together() }}
-- The last analysis dates the value-side models (int_unit_metric_values, the quantile models,
-- int_novelty_unit_periods) were last built with
-- (int_experiment_last_analysis_dates at the end of the last successful run; built after them, like
-- int_refresh_state): int_refresh_analysis_dates compares the current dates with these.
-- depends_on: {{ ref('int_unit_metric_values') }}
-- depends_on: {{ ref('int_quantile_observations') }}
-- depends_on: {{ ref('int_variant_quantile_stats') }}
-- depends_on: {{ ref('int_novelty_unit_periods') }}
-- depends_on: {{ ref('int_novelty_exposure_day_sums') }}
select
    experiment_id,
    last_analysis_date
from {{ ref('int_experiment_last_analysis_dates') }}
