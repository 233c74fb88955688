{{
    config(
        materialized='incremental',
        incremental_strategy=exptrack_incremental_strategy(),
        pre_hook="{{ exptrack_delete_retention_scope() }}",
    )
}}
-- depends_on: {{ ref('int_refresh_scope') }}
-- depends_on: {{ ref('int_refresh_activity_dates') }}

-- The unit-days behind fct_retention_cohorts: per experiment, analysed unit and day within 30 days of its exposure,
-- whether the unit was active ("active": any event of the experiment's retention metrics, any event when it has
-- none). Incremental: a run recounts the days of int_refresh_activity_dates (scope activity_dates: event dates of
-- changed partitions, an experiment's days from a changed unit's exposure on, a changed experiment's every day) and
-- every day of an experiment whose retention events may have changed (a changed metric of the experiment), reading
-- only the events of those days (exptrack_retention_scope.sql).
with assignments as (

    select * from {{ ref('int_assignments') }}

),

events as (

    select events.*
    from {{ ref('int_event_units') }} as events
    {% if is_incremental() %}
        where {{ exptrack_retention_event_dates_in_scope('events.event_date') }}
    {% endif %}

),

retention_events as (

    select distinct
        experiment_metrics.experiment_id,
        metric_events.event_name
    from {{ ref('stg_experiment_metrics') }} as experiment_metrics
    inner join {{ ref('stg_metrics') }} as metrics
        on experiment_metrics.metric_id = metrics.metric_id
    inner join {{ ref('stg_metric_events') }} as metric_events
        on metrics.metric_id = metric_events.metric_id
    where metrics.metric_kind = 'retention'

),

experiments_with_retention as (

    select distinct experiment_id from retention_events

),

retention_event_names as (

    select distinct event_name from retention_events

),

-- Each event's unit and day, with its event name when some experiment counts it as retention (null otherwise).
-- Performance: one read of the events, joined to the units as they are and made distinct once, on the output's
-- grain: a CTE read twice is materialized with every column of every event, and a distinct over unit-days before the
-- join costs a second hash aggregate as large as the events (at 10M events: 49 CPU-s and 1.8 GB before, 21 CPU-s and
-- 0.9 GB now; EXPLAIN ANALYZE, docs/incremental.md "The backfill's passes").
activity as (

    select
        events.unit_type,
        events.user_id,
        events.event_date,
        retention_event_names.event_name as retention_event_name
    from events
    left join retention_event_names
        on events.event_name = retention_event_names.event_name

),

-- An experiment with retention metrics counts the days with one of its retention events, any other experiment the
-- days with any event.
active_days as (

    select distinct
        assignments.experiment_id,
        assignments.variant,
        assignments.user_id,
        assignments.exposure_date,
        activity.event_date as activity_date,
        {{ dbt.datediff('assignments.exposure_date', 'activity.event_date', 'day') }}
            as day_since_exposure
    from assignments
    inner join activity
        on assignments.user_id = activity.user_id
        and assignments.unit_type = activity.unit_type
    left join experiments_with_retention
        on assignments.experiment_id = experiments_with_retention.experiment_id
    left join retention_events
        on assignments.experiment_id = retention_events.experiment_id
        and activity.retention_event_name = retention_events.event_name
    where activity.event_date >= assignments.exposure_date
        and activity.event_date <= cast({{ dbt.dateadd('day', 30, 'assignments.exposure_date') }} as date)
        and (experiments_with_retention.experiment_id is null or retention_events.experiment_id is not null)

)

-- casts: the same types on every engine (datediff differs in width)
select
    experiment_id,
    variant,
    user_id,
    cast(exposure_date as date) as exposure_date,
    cast(activity_date as date) as activity_date,
    cast(day_since_exposure as {{ dbt.type_bigint() }}) as day_since_exposure
from active_days
{% if is_incremental() %}
    where {{ exptrack_in_retention_scope('active_days') }}
{% endif %}
