{{ exptrack_require_built_together() }}
-- The last analysis dates int_unit_metric_values was last built with (int_experiment_last_analysis_dates at the end of
-- the last successful run; built after it, like int_refresh_state): int_refresh_value_units compares the current
-- dates with these to rebuild the units whose value moved with the date.
-- depends_on: {{ ref('int_unit_metric_values') }}
select
    experiment_id,
    last_analysis_date
from {{ ref('int_experiment_last_analysis_dates') }}
