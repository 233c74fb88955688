{{
    config(
        materialized='incremental',
        incremental_strategy=exptrack_incremental_strategy(),
        pre_hook="{{ exptrack_delete_novelty_scope() }}",
    )
}}
-- depends_on: {{ ref('int_refresh_scope') }}
-- depends_on: {{ ref('int_refresh_units') }}
-- depends_on: {{ ref('int_refresh_metric_dates') }}
-- depends_on: {{ ref('int_refresh_analysis_dates') }}
-- depends_on: {{ ref('int_refresh_replaced_novelty_days') }}

-- Per experiment (its primary metric) and unit exposed at least 2k days before the experiment's last analysis date:
-- the unit's value in the early period [0, k) and the late period [k, 2k) days since exposure, k = least(7,
-- floor(window_days / 2)) — what lifecycle_novelty_stats sums (its header says why). Incremental
-- (exptrack_novelty_scope.sql): a run recomputes the units whose unit-days changed within their first 2k days or
-- whose assignment changed, every unit of a changed metric or experiment or a moved cap, and the units whose late
-- period closed between the old and the new last analysis date; the periods of the others are fully observed and
-- stay as they are (an old unit active on a new day keeps its periods).
{%- set bounds = exptrack_novelty_scope_bounds() if is_incremental() else none %}

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
    {% if is_incremental() %}
        -- a scoped unit's periods start on its exposure day: no earlier unit-day is read (a literal bound)
        where {{ exptrack_novelty_exposure_bound(bounds, 'activity_date') }}
    {% endif %}

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
        {{ exptrack_novelty_period_days('metrics.window_days') }} as period_days
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

scoped_units as (

    select * from units
    {% if is_incremental() %}
        where {{ exptrack_in_novelty_scope('units', bounds) }}
    {% endif %}

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
        units.exposure_date,
        periods.period,
        coalesce(sum(daily.numerator_amount), 0) as numerator_total,
        coalesce(sum(daily.denominator_amount), 0) as denominator_total
    from scoped_units as units
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
        units.user_id, units.exposure_date, periods.period

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
        unit_periods.exposure_date,
        unit_periods.period,
        {{ exptrack_unit_value('unit_periods.numerator_total', 'unit_periods.stat_kind', 'caps.cap') }} as y,
        unit_periods.denominator_total as d
    from unit_periods
    left join caps
        on unit_periods.experiment_id = caps.experiment_id
        and unit_periods.metric_id = caps.metric_id

)

select
    experiment_id,
    metric_id,
    stat_kind,
    period_days,
    variant,
    is_control,
    user_id,
    cast(exposure_date as date) as exposure_date,
    max(case when period = 'early' then y end) as y_early,
    max(case when period = 'late' then y end) as y_late,
    max(case when period = 'early' then d end) as d_early,
    max(case when period = 'late' then d end) as d_late
from unit_values
group by experiment_id, metric_id, stat_kind, period_days, variant, is_control, user_id, exposure_date
