{{ config(materialized='table') }}
-- Each metric's daily value per experiment variant, for the metric-anomaly health check:
-- what the variant's units did that day, per unit whose metric window covers the day
-- (exposed in the last window_days days; for retention Dn, exposed exactly n days earlier).
-- daily_value = Σ numerator / units_in_window, or Σ numerator / Σ denominator for ratio metrics.
with daily as (

    select * from {{ ref('int_unit_metric_daily') }}

),

exposures as (

    select * from {{ ref('fct_daily_exposures') }}

),

experiment_metrics as (

    select * from {{ ref('stg_experiment_metrics') }}

),

metrics as (

    select * from {{ ref('stg_metrics') }}

),

activity as (

    select
        experiment_id,
        metric_id,
        variant,
        activity_date,
        count(*) as active_units,
        sum(numerator_amount) as numerator,
        sum(denominator_amount) as denominator
    from daily
    group by experiment_id, metric_id, variant, activity_date

),

grid as (

    select
        exposures.experiment_id,
        experiment_metrics.metric_id,
        exposures.variant,
        exposures.exposure_date as activity_date,
        metrics.metric_kind,
        metrics.stat_kind,
        metrics.window_days,
        metrics.retention_day
    from exposures
    inner join experiment_metrics
        on exposures.experiment_id = experiment_metrics.experiment_id
    inner join metrics
        on experiment_metrics.metric_id = metrics.metric_id

),

in_window as (

    select
        grid.experiment_id,
        grid.metric_id,
        grid.variant,
        grid.activity_date,
        sum(cohorts.new_units) as units_in_window
    from grid
    inner join exposures as cohorts
        on grid.experiment_id = cohorts.experiment_id
        and grid.variant = cohorts.variant
        and grid.activity_date >= cohorts.exposure_date
    where
        (
            grid.metric_kind = 'retention'
            and cohorts.exposure_date
            = cast({{ dbt.dateadd('day', '0 - grid.retention_day', 'grid.activity_date') }} as date)
        )
        or (
            grid.metric_kind <> 'retention'
            and cohorts.exposure_date
            > cast({{ dbt.dateadd('day', '0 - grid.window_days', 'grid.activity_date') }} as date)
        )
    group by grid.experiment_id, grid.metric_id, grid.variant, grid.activity_date

)

select
    grid.experiment_id,
    grid.metric_id,
    grid.variant,
    grid.activity_date,
    cast(coalesce(in_window.units_in_window, 0) as {{ dbt.type_bigint() }}) as units_in_window,
    cast(coalesce(activity.active_units, 0) as {{ dbt.type_bigint() }}) as active_units,
    cast(coalesce(activity.numerator, 0) as {{ exptrack_type_double() }}) as numerator,
    cast(coalesce(activity.denominator, 0) as {{ exptrack_type_double() }}) as denominator,
    cast(
        case
            when grid.stat_kind = 'ratio'
                then
                    case when coalesce(activity.denominator, 0) > 0 then activity.numerator / activity.denominator end
            when
                coalesce(in_window.units_in_window, 0) > 0
                then coalesce(activity.numerator, 0) / in_window.units_in_window
        end as {{ exptrack_type_double() }}
    ) as daily_value
from grid
left join in_window
    on grid.experiment_id = in_window.experiment_id
    and grid.metric_id = in_window.metric_id
    and grid.variant = in_window.variant
    and grid.activity_date = in_window.activity_date
left join activity
    on grid.experiment_id = activity.experiment_id
    and grid.metric_id = activity.metric_id
    and grid.variant = activity.variant
    and grid.activity_date = activity.activity_date
