-- The units whose value as of the last analysis date (int_unit_metric_values) this run must recompute because that
-- date moved since the last run (int_refresh_value_dates), per experiment, metric and unit: units with unit-days
-- between the old and the new date, and units that become (or stop being) eligible between them (exposure, or
-- exposure + n days for a retention Dn metric). The other reasons a value changes (its unit-days or assignment, a
-- moved cap, a changed metric or experiment) are read from int_refresh_units and int_refresh_metric_dates
-- (exptrack_in_unit_value_scope). The dates that moved: int_refresh_analysis_dates. Empty on a full rebuild (scope
-- all) or without a previous state: every unit is recomputed then anyway.
-- Performance: the earliest old date is written into the SQL as a literal (read once), so the warehouse skips the
-- unit-days and assignments of earlier days (zone maps, indexes) instead of joining every one with the moved dates:
-- a quiet day reads the new day's unit-days and the units exposed since the longest retention Dn before it.
-- depends_on: {{ ref('int_refresh_scope') }}
{%- set rebuild_all, since = exptrack_refresh_since() %}
{%- set after, eligible_after = exptrack_value_units_after() %}

with moved as (

    select * from {{ ref('int_refresh_analysis_dates') }}

),

active_units as (

    select
        daily.experiment_id,
        daily.metric_id,
        daily.user_id
    from {{ ref('int_unit_metric_daily') }} as daily
    inner join moved
        on daily.experiment_id = moved.experiment_id
    where daily.activity_date > moved.after_date
        and daily.activity_date <= moved.through_date
        and daily.activity_date > cast('{{ after }}' as date)

),

eligible_units as (

    select
        assignments.experiment_id,
        experiment_metrics.metric_id,
        assignments.user_id
    from {{ ref('int_assignments') }} as assignments
    inner join moved
        on assignments.experiment_id = moved.experiment_id
    inner join {{ ref('stg_experiment_metrics') }} as experiment_metrics
        on assignments.experiment_id = experiment_metrics.experiment_id
    inner join {{ ref('stg_metrics') }} as metrics
        on experiment_metrics.metric_id = metrics.metric_id
    where {{ exptrack_unit_eligible_from() }} > moved.after_date
        and {{ exptrack_unit_eligible_from() }} <= moved.through_date
        and assignments.exposure_date > cast('{{ eligible_after }}' as date)

),

changed as (

    select * from active_units
    union all
    select * from eligible_units

)

select distinct
    experiment_id,
    metric_id,
    user_id
from changed
where {{ "false" if rebuild_all or exptrack_value_state_missing() else "true" }}
