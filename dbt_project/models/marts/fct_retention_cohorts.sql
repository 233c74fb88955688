-- Retention cohort matrix: exposure-date cohort × day since exposure (0..30) × variant → retained / eligible units.
-- "Active" means any event of the experiment's retention metrics (any event when it has none) on that calendar day.
-- A cohort is eligible for day k once cohort_date + k is on or before the data's last day.
with assignments as (

    select * from {{ ref('int_assignments') }}

),

events as (

    select * from {{ ref('int_event_units') }}

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

data_through as (

    select max(partition_date) as data_through_date from {{ ref('stg_events') }}

),

day_offsets as (

    select day_offset as day_since_exposure
    from ({{ exptrack_day_offsets(31) }}) as series

),

retention_event_names as (

    select distinct event_name from retention_events

),

-- Performance: the join to assignments below touches user-days, not events: one row per user and active day
-- (any event), and per user, day and event name for the events some experiment counts as retention.
any_activity as (

    select distinct
        unit_type,
        user_id,
        event_date
    from events

),

named_activity as (

    select distinct
        events.unit_type,
        events.user_id,
        events.event_date,
        events.event_name
    from events
    inner join retention_event_names
        on events.event_name = retention_event_names.event_name

),

active_days as (

    -- experiments with retention metrics: days with one of their retention events
    select distinct
        assignments.experiment_id,
        assignments.variant,
        assignments.user_id,
        assignments.exposure_date,
        {{ dbt.datediff('assignments.exposure_date', 'named_activity.event_date', 'day') }}
            as day_since_exposure
    from assignments
    inner join named_activity
        on assignments.user_id = named_activity.user_id
        and assignments.unit_type = named_activity.unit_type
    inner join retention_events
        on assignments.experiment_id = retention_events.experiment_id
        and named_activity.event_name = retention_events.event_name
    where named_activity.event_date >= assignments.exposure_date
        and named_activity.event_date <= cast({{ dbt.dateadd('day', 30, 'assignments.exposure_date') }} as date)

    union all

    -- experiments without retention metrics: days with any event
    select
        assignments.experiment_id,
        assignments.variant,
        assignments.user_id,
        assignments.exposure_date,
        {{ dbt.datediff('assignments.exposure_date', 'any_activity.event_date', 'day') }}
            as day_since_exposure
    from assignments
    inner join any_activity
        on assignments.user_id = any_activity.user_id
        and assignments.unit_type = any_activity.unit_type
    left join experiments_with_retention
        on assignments.experiment_id = experiments_with_retention.experiment_id
    where experiments_with_retention.experiment_id is null
        and any_activity.event_date >= assignments.exposure_date
        and any_activity.event_date <= cast({{ dbt.dateadd('day', 30, 'assignments.exposure_date') }} as date)

),

retained as (

    select
        experiment_id,
        variant,
        exposure_date as cohort_date,
        day_since_exposure,
        count(*) as retained_units
    from active_days
    group by experiment_id, variant, exposure_date, day_since_exposure

),

cohorts as (

    select
        experiment_id,
        variant,
        exposure_date as cohort_date,
        count(*) as cohort_units
    from assignments
    group by experiment_id, variant, exposure_date

),

matrix as (

    select
        cohorts.experiment_id,
        cohorts.variant,
        cohorts.cohort_date,
        day_offsets.day_since_exposure,
        cohorts.cohort_units as eligible_units
    from cohorts
    cross join day_offsets
    cross join data_through
    where
        cast({{ dbt.dateadd('day', 'day_offsets.day_since_exposure', 'cohorts.cohort_date') }} as date)
        <= data_through.data_through_date

)

select
    matrix.experiment_id,
    matrix.variant,
    matrix.cohort_date,
    matrix.day_since_exposure,
    matrix.eligible_units,
    coalesce(retained.retained_units, 0) as retained_units
from matrix
left join retained
    on matrix.experiment_id = retained.experiment_id
    and matrix.variant = retained.variant
    and matrix.cohort_date = retained.cohort_date
    and matrix.day_since_exposure = retained.day_since_exposure
