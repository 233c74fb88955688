{{ config(materialized='table') }}
-- Per experiment and analysis date: valid exposure rows, units first exposed that day (and how many of them saw
-- more than one variant), and the events of analysed units on or after their exposure day. Feeds the freshness,
-- traffic and launch-instrumentation health checks. The events part is counted incrementally per day
-- (int_experiment_unit_activity); the exposure counts are small aggregates of the exposure tables.
with analysis_dates as (

    select * from {{ ref('int_experiment_analysis_dates') }}

),

classified as (

    select * from {{ ref('int_exposures_classified') }}
    where exclusion_reason is null

),

first_exposures as (

    select * from {{ ref('int_first_exposures') }}

),

unit_events as (

    select * from {{ ref('int_experiment_unit_activity') }}

),

exposure_rows as (

    select
        experiment_id,
        exposure_date as activity_date,
        count(*) as exposure_rows
    from classified
    group by experiment_id, exposure_date

),

first_units as (

    select
        experiment_id,
        exposure_date as activity_date,
        count(*) as first_exposed_units,
        sum(case when is_multi_exposed then 1 else 0 end) as multi_exposed_units
    from first_exposures
    group by experiment_id, exposure_date

)

select
    analysis_dates.experiment_id,
    analysis_dates.analysis_date as activity_date,
    cast(coalesce(exposure_rows.exposure_rows, 0) as {{ dbt.type_bigint() }}) as exposure_rows,
    cast(coalesce(first_units.first_exposed_units, 0) as {{ dbt.type_bigint() }}) as first_exposed_units,
    cast(coalesce(first_units.multi_exposed_units, 0) as {{ dbt.type_bigint() }}) as multi_exposed_units,
    cast(coalesce(unit_events.events, 0) as {{ dbt.type_bigint() }}) as events,
    cast(coalesce(unit_events.active_units, 0) as {{ dbt.type_bigint() }}) as active_units
from analysis_dates
left join exposure_rows
    on analysis_dates.experiment_id = exposure_rows.experiment_id
    and analysis_dates.analysis_date = exposure_rows.activity_date
left join first_units
    on analysis_dates.experiment_id = first_units.experiment_id
    and analysis_dates.analysis_date = first_units.activity_date
left join unit_events
    on analysis_dates.experiment_id = unit_events.experiment_id
    and analysis_dates.analysis_date = unit_events.activity_date
