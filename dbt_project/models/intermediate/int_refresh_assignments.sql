{{ exptrack_require_built_together() }}
-- The analysed units the incremental models were last brought up to date with (int_assignments at the end of the
-- last successful run; built after every incremental model, like int_refresh_state).
-- depends_on: {{ ref('int_unit_metric_daily_by_partition') }}
-- depends_on: {{ ref('int_unit_metric_pre_period') }}
-- depends_on: {{ ref('int_unit_metric_daily') }}
-- depends_on: {{ ref('int_unit_metric_covariates') }}
-- depends_on: {{ ref('int_variant_metric_daily_deltas') }}
-- depends_on: {{ ref('int_experiment_unit_activity') }}
-- depends_on: {{ ref('int_retention_active_days') }}
-- depends_on: {{ ref('int_refresh_value_dates') }}
select
    experiment_id,
    user_id,
    unit_type,
    variant,
    first_exposed_at
from {{ ref('int_assignments') }}
