-- Retention cohort matrix: exposure-date cohort × day since exposure (0..30) × variant → retained / eligible units.
-- "Active" means any event of the experiment's retention metrics (any event when it has none) on that calendar day.
-- A cohort is eligible for day k once cohort_date + k is on or before the data's last day.
-- The active unit-days come from int_retention_active_days (incremental: a daily run reads the new day's events
-- only); this table counts them and applies the eligibility, which moves with the data's last day, each run.
with assignments as (

    select * from {{ ref('int_assignments') }}

),

active_days as (

    select * from {{ ref('int_retention_active_days') }}

),

data_through as (

    select max(partition_date) as data_through_date from {{ ref('stg_events') }}

),

day_offsets as (

    select day_offset as day_since_exposure
    from ({{ exptrack_day_offsets(31) }}) as series

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

-- casts: the contract's types on both engines (generate_series and datediff differ in width)
select
    matrix.experiment_id,
    matrix.variant,
    cast(matrix.cohort_date as date) as cohort_date,
    cast(matrix.day_since_exposure as bigint) as day_since_exposure,
    cast(matrix.eligible_units as bigint) as eligible_units,
    cast(coalesce(retained.retained_units, 0) as bigint) as retained_units
from matrix
left join retained
    on matrix.experiment_id = retained.experiment_id
    and matrix.variant = retained.variant
    and matrix.cohort_date = retained.cohort_date
    and matrix.day_since_exposure = retained.day_since_exposure
