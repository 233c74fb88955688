{{ exptrack_require_built_together() }}
-- The fingerprints the incremental models were last brought up to date with: int_source_fingerprints, copied once
-- every incremental model has been built (the refs below order it last), so a run that fails before then leaves
-- the previous state and the next run redoes the same changes: never a change recorded as done but not applied.
-- depends_on: {{ ref('int_events_deduplicated') }}
-- depends_on: {{ ref('int_event_id_hashes') }}
-- depends_on: {{ ref('int_unit_metric_daily_by_partition') }}
-- depends_on: {{ ref('int_unit_metric_pre_period') }}
-- depends_on: {{ ref('int_unit_metric_daily') }}
-- depends_on: {{ ref('int_unit_metric_covariates') }}
-- depends_on: {{ ref('int_variant_metric_daily_deltas') }}
-- depends_on: {{ ref('int_experiment_unit_activity') }}
-- depends_on: {{ ref('int_retention_active_days') }}
-- depends_on: {{ ref('int_refresh_value_dates') }}
-- depends_on: {{ ref('int_refresh_assignments') }}
-- depends_on: {{ ref('int_refresh_analysed_phases') }}
select * from {{ ref('int_source_fingerprints') }}
