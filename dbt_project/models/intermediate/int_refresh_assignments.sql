{{
    config(
        materialized='incremental',
        incremental_strategy=exptrack_incremental_strategy(),
        pre_hook="{{ exptrack_delete_exposure_scope('exposure_unit') }}",
    )
}}
-- depends_on: {{ ref('int_refresh_scope') }}
-- depends_on: {{ ref('int_refresh_exposure_units') }}
-- depends_on: {{ ref('int_refresh_exposure_experiments') }}
{{ exptrack_require_built_together() }}
-- The analysed units the incremental models were last brought up to date with (int_assignments at the end of the
-- last successful run; built after every incremental model, like int_refresh_state). Incremental like int_assignments:
-- a run copies the units of its scope (exposure_unit), the only ones int_assignments rebuilt.
-- depends_on: {{ ref('int_unit_metric_daily_by_partition') }}
-- depends_on: {{ ref('int_unit_metric_pre_period') }}
-- depends_on: {{ ref('int_unit_metric_daily') }}
-- depends_on: {{ ref('int_unit_metric_covariates') }}
-- depends_on: {{ ref('int_variant_metric_daily_deltas') }}
-- depends_on: {{ ref('int_experiment_unit_activity') }}
-- depends_on: {{ ref('int_retention_active_days') }}
-- depends_on: {{ ref('int_refresh_value_dates') }}
-- depends_on: {{ ref('int_unit_attributes') }}
select
    assignments.experiment_id,
    assignments.user_id,
    assignments.unit_type,
    assignments.variant,
    assignments.first_exposed_at
from {{ ref('int_assignments') }} as assignments
{% if is_incremental() %}
    where {{ exptrack_in_exposure_scope('exposure_unit', 'assignments') }}
{% endif %}
