{{ config(materialized='table') }}
-- Novelty check input: sufficient statistics of each experiment's primary metric per variant for the early period
-- [0, k) and the late period [k, 2k) days since exposure, k = least(7, floor(window_days / 2)), among units exposed
-- at least 2k days before the experiment's last analysis date (so both periods are fully observed for every unit).
-- A unit's value in a period is its metric over that period only (0/1 for proportions, capped like the full metric).
-- Retention metrics are excluded: they count one calendar day per unit (the retention curves cover them).
-- The same units are in both periods, so each row also carries the arm's cross-period sums (Σ y_early·y_late, and for
-- ratios Σ y_early·d_late, Σ d_early·y_late, Σ d_early·d_late; equal on the early and late row of an arm): the novelty
-- test needs the within-unit covariance of the two periods (stats.lift_difference.paired_mean_covariance).
with assignments as (

    select * from {{ ref('int_assignments') }}

),

experiments as (

    select * from {{ ref('stg_experiments') }}

),

metrics as (

    select * from {{ ref('stg_metrics') }}

),

daily as (

    select * from {{ ref('int_unit_metric_daily') }}

),

caps as (

    select * from {{ ref('int_metric_caps') }}

),

last_dates as (

    select * from {{ ref('int_experiment_last_analysis_dates') }}

),

primary_metrics as (

    select
        experiments.experiment_id,
        experiments.control_variant,
        metrics.metric_id,
        metrics.stat_kind,
        -- 2.0: int / int truncates on PostgreSQL
        least(7, cast(floor(metrics.window_days / 2.0) as integer)) as period_days
    from experiments
    inner join metrics
        on experiments.primary_metric_id = metrics.metric_id
    where metrics.metric_kind <> 'retention'
        and metrics.window_days >= 2

),

periods as (

    select
        'early' as period,
        0 as period_index
    union all
    select
        'late' as period,
        1 as period_index

),

units as (

    select
        assignments.experiment_id,
        primary_metrics.metric_id,
        primary_metrics.stat_kind,
        primary_metrics.period_days,
        assignments.variant,
        assignments.variant = primary_metrics.control_variant as is_control,
        assignments.user_id,
        assignments.exposure_date
    from assignments
    inner join primary_metrics
        on assignments.experiment_id = primary_metrics.experiment_id
    inner join last_dates
        on assignments.experiment_id = last_dates.experiment_id
    where cast({{ dbt.dateadd('day', '2 * primary_metrics.period_days - 1', 'assignments.exposure_date') }} as date)
        <= last_dates.last_analysis_date

),

unit_periods as (

    select
        units.experiment_id,
        units.metric_id,
        units.stat_kind,
        units.period_days,
        units.variant,
        units.is_control,
        units.user_id,
        periods.period,
        coalesce(sum(daily.numerator_amount), 0) as numerator_total,
        coalesce(sum(daily.denominator_amount), 0) as denominator_total
    from units
    cross join periods
    left join daily
        on units.experiment_id = daily.experiment_id
        and units.metric_id = daily.metric_id
        and units.user_id = daily.user_id
        and {{ dbt.datediff('units.exposure_date', 'daily.activity_date', 'day') }}
        >= periods.period_index * units.period_days
        and {{ dbt.datediff('units.exposure_date', 'daily.activity_date', 'day') }}
        < (periods.period_index + 1) * units.period_days
    group by
        units.experiment_id, units.metric_id, units.stat_kind, units.period_days, units.variant, units.is_control,
        units.user_id, periods.period

),

unit_values as (

    select
        unit_periods.experiment_id,
        unit_periods.metric_id,
        unit_periods.stat_kind,
        unit_periods.period_days,
        unit_periods.variant,
        unit_periods.is_control,
        unit_periods.user_id,
        unit_periods.period,
        {{ exptrack_unit_value('unit_periods.numerator_total', 'unit_periods.stat_kind', 'caps.cap') }} as y,
        unit_periods.denominator_total as d
    from unit_periods
    left join caps
        on unit_periods.experiment_id = caps.experiment_id
        and unit_periods.metric_id = caps.metric_id

),

unit_pairs as (

    select
        experiment_id,
        metric_id,
        variant,
        user_id,
        max(case when period = 'early' then y end) as y_early,
        max(case when period = 'late' then y end) as y_late,
        max(case when period = 'early' then d end) as d_early,
        max(case when period = 'late' then d end) as d_late
    from unit_values
    group by experiment_id, metric_id, variant, user_id

),

cross_sums as (

    select
        experiment_id,
        metric_id,
        variant,
        cast(sum(y_early * y_late) as {{ exptrack_type_double() }}) as sum_cross,
        cast(sum(y_early * d_late) as {{ exptrack_type_double() }}) as sum_cross_num_den,
        cast(sum(d_early * y_late) as {{ exptrack_type_double() }}) as sum_cross_den_num,
        cast(sum(d_early * d_late) as {{ exptrack_type_double() }}) as sum_cross_den
    from unit_pairs
    group by experiment_id, metric_id, variant

),

period_sums as (

    select
        experiment_id,
        metric_id,
        stat_kind,
        variant,
        is_control,
        period,
        period_days,
        {{ exptrack_sufficient_statistics('y', 'd') }}
    from unit_values
    group by experiment_id, metric_id, stat_kind, variant, is_control, period, period_days

)

select
    period_sums.*,
    cross_sums.sum_cross,
    cross_sums.sum_cross_num_den,
    cross_sums.sum_cross_den_num,
    cross_sums.sum_cross_den
from period_sums
inner join cross_sums
    on period_sums.experiment_id = cross_sums.experiment_id
    and period_sums.metric_id = cross_sums.metric_id
    and period_sums.variant = cross_sums.variant
