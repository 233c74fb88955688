-- Retention cohort matrix: exposure-date cohort × day since exposure (0..30) × variant → retained / eligible units.
-- "Active" means any event of the experiment's retention metrics (any event when it has none) on that calendar day.
-- A cohort is eligible for day k once cohort_date + k is on or before the data's last day.
with assignments as (

    select * from {{ ref('int_assignments') }}

),

events as (

    select * from {{ ref('int_events_deduplicated') }}

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

    select generated_number - 1 as day_since_exposure
    from ({{ dbt.generate_series(31) }}) as series

),

active_days as (

    select distinct
        assignments.experiment_id,
        assignments.variant,
        assignments.user_id,
        assignments.exposure_date,
        {{ dbt.datediff('assignments.exposure_date', 'events.event_date', 'day') }} as day_since_exposure
    from assignments
    inner join events
        on assignments.user_id = events.user_id
    left join retention_events
        on assignments.experiment_id = retention_events.experiment_id
        and events.event_name = retention_events.event_name
    left join experiments_with_retention
        on assignments.experiment_id = experiments_with_retention.experiment_id
    where (retention_events.event_name is not null or experiments_with_retention.experiment_id is null)
        and events.event_date >= assignments.exposure_date
        and events.event_date <= cast({{ dbt.dateadd('day', 30, 'assignments.exposure_date') }} as date)

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
    where cast({{ dbt.dateadd('day', 'day_offsets.day_since_exposure', 'cohorts.cohort_date') }} as date) <= data_through.data_through_date

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
