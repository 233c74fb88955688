{{
    config(
        materialized='incremental',
        incremental_strategy=exptrack_incremental_strategy(),
        pre_hook=["{{ exptrack_avoid_nested_loops() }}", "{{ exptrack_delete_quantile_scope() }}"],
    )
}}
-- depends_on: {{ ref('int_refresh_scope') }}
-- depends_on: {{ ref('int_refresh_metric_dates') }}
-- depends_on: {{ ref('int_refresh_analysis_dates') }}
-- depends_on: {{ ref('int_refresh_quantile_bases') }}

-- The observations behind each quantile metric as of each analysis date, with the unit (cluster) they belong to:
-- granularity event: every event attributed to an analysed unit (in [first exposure, + window_days)) up to that date,
-- its value (count aggregation: 1); granularity unit: every unit exposed by that date, its total so far (0 without
-- events), as int_unit_metric_values has it for mean metrics but uncapped.
-- Incremental (exptrack_quantile_scope.sql): a run rebuilds the analysis dates from the earliest day a change
-- touches (per experiment and metric) and the dates new since the last run; a quiet day, the new date only. A scoped
-- date's observations are its base date's rows, kept in this table, and what came after that date
-- (int_refresh_quantile_bases): a quiet day reads the new day's events and unit-days, not history.
with amounts as (

    select * from {{ ref('int_metric_event_amounts') }}

),

assignments as (

    select * from {{ ref('int_assignments') }}

),

experiment_metrics as (

    select * from {{ ref('stg_experiment_metrics') }}

),

metrics as (

    select * from {{ ref('stg_metrics') }}

),

analysis_dates as (

    select * from {{ ref('int_experiment_analysis_dates') }}

),

daily as (

    select * from {{ ref('int_unit_metric_daily') }}

),

quantile_metrics as (

    select
        experiment_metrics.experiment_id,
        metrics.metric_id,
        metrics.quantile_granularity
    from experiment_metrics
    inner join metrics
        on experiment_metrics.metric_id = metrics.metric_id
    where metrics.metric_kind = 'quantile'

),

quantile_dates as (

    select
        quantile_metrics.experiment_id,
        quantile_metrics.metric_id,
        quantile_metrics.quantile_granularity,
        analysis_dates.analysis_date
    from quantile_metrics
    inner join analysis_dates
        on quantile_metrics.experiment_id = analysis_dates.experiment_id

),

scoped_dates as (

    -- the analysis dates (per experiment and quantile metric) this run builds
    select * from quantile_dates
    {% if is_incremental() %}
        where {{ exptrack_in_quantile_scope('quantile_dates') }}
    {% endif %}

),

{% if is_incremental() %}
    bases as (

        select * from {{ ref('int_refresh_quantile_bases') }}

    ),

    kept as (

        -- the observations of each scoped experiment × metric's base date, as an earlier run left them
        select
            observations.experiment_id,
            observations.metric_id,
            observations.variant,
            observations.analysis_date,
            observations.user_id,
            observations.observed_value
        from {{ this }} as observations
        inner join bases
            on observations.experiment_id = bases.experiment_id
            and observations.metric_id = bases.metric_id
            and observations.analysis_date = bases.base_date
        where {{ exptrack_on_quantile_bases('observations.analysis_date') }}

    ),
{% endif %}

attributed_events as (

    -- the join shape of int_unit_metric_daily (registry tables first, the metric filter last), which PostgreSQL plans
    -- with hash joins
    select
        assignments.experiment_id,
        amounts.metric_id,
        assignments.variant,
        assignments.user_id,
        amounts.event_date,
        amounts.amount
    from amounts
    inner join experiment_metrics
        on amounts.metric_id = experiment_metrics.metric_id
    inner join assignments
        on experiment_metrics.experiment_id = assignments.experiment_id
        and amounts.user_id = assignments.user_id
        and amounts.unit_type = assignments.unit_type
    inner join metrics
        on amounts.metric_id = metrics.metric_id
    where
        metrics.metric_kind = 'quantile'
        and metrics.quantile_granularity = 'event'
        and amounts.occurred_at >= assignments.first_exposed_at
        and amounts.occurred_at < {{ dbt.dateadd('day', 'metrics.window_days', 'assignments.first_exposed_at') }}
        and {{ exptrack_after_quantile_bases('amounts.event_date') }}

),

event_observations as (

    select
        attributed_events.experiment_id,
        attributed_events.metric_id,
        attributed_events.variant,
        scoped_dates.analysis_date,
        attributed_events.user_id,
        attributed_events.amount as observed_value
    from attributed_events
    inner join scoped_dates
        on attributed_events.experiment_id = scoped_dates.experiment_id
        and attributed_events.metric_id = scoped_dates.metric_id
        and attributed_events.event_date <= scoped_dates.analysis_date
    {% if is_incremental() %}
        left join bases
            on attributed_events.experiment_id = bases.experiment_id
            and attributed_events.metric_id = bases.metric_id
        where bases.base_date is null or attributed_events.event_date > bases.base_date
        union all
        -- the base date's observations, kept
        select
            kept.experiment_id,
            kept.metric_id,
            kept.variant,
            scoped_dates.analysis_date,
            kept.user_id,
            kept.observed_value
        from kept
        inner join scoped_dates
            on kept.experiment_id = scoped_dates.experiment_id
            and kept.metric_id = scoped_dates.metric_id
        where scoped_dates.quantile_granularity = 'event'
    {% endif %}

),

unit_rows as (

    -- a unit's total on each analysis date is a running sum over its days (no unit × date × day join): an
    -- observation row per analysis date since its exposure (amount 0, flag 1), and its daily amounts (flag 0, first)
    select
        assignments.experiment_id,
        scoped_dates.metric_id,
        assignments.variant,
        assignments.user_id,
        scoped_dates.analysis_date,
        0 as amount,
        1 as is_observation
    from assignments
    inner join scoped_dates
        on assignments.experiment_id = scoped_dates.experiment_id
        and assignments.exposure_date <= scoped_dates.analysis_date
    where scoped_dates.quantile_granularity = 'unit'
    union all
    select
        daily.experiment_id,
        daily.metric_id,
        daily.variant,
        daily.user_id,
        daily.activity_date as analysis_date,
        daily.numerator_amount as amount,
        0 as is_observation
    from daily
    inner join quantile_metrics
        on daily.experiment_id = quantile_metrics.experiment_id
        and daily.metric_id = quantile_metrics.metric_id
    {% if is_incremental() %}
        inner join bases
            on daily.experiment_id = bases.experiment_id
            and daily.metric_id = bases.metric_id
            and (bases.base_date is null or daily.activity_date > bases.base_date)
    {% endif %}
    where quantile_metrics.quantile_granularity = 'unit'
        and {{ exptrack_after_quantile_bases('daily.activity_date') }}
    {% if is_incremental() %}
        union all
        -- each unit's total at the base date, kept (flag 0: its days after it add up from there)
        select
            kept.experiment_id,
            kept.metric_id,
            kept.variant,
            kept.user_id,
            kept.analysis_date,
            kept.observed_value as amount,
            0 as is_observation
        from kept
        inner join quantile_metrics
            on kept.experiment_id = quantile_metrics.experiment_id
            and kept.metric_id = quantile_metrics.metric_id
        where quantile_metrics.quantile_granularity = 'unit'
    {% endif %}

),

unit_totals as (

    select
        experiment_id,
        metric_id,
        variant,
        user_id,
        analysis_date,
        is_observation,
        sum(amount) over (
            partition by experiment_id, metric_id, user_id
            order by analysis_date, is_observation
            rows between unbounded preceding and current row
        ) as running_total
    from unit_rows

),

unit_observations as (

    select
        experiment_id,
        metric_id,
        variant,
        analysis_date,
        user_id,
        running_total as observed_value
    from unit_totals
    where is_observation = 1

),

observations as (

    select * from event_observations
    union all
    select * from unit_observations

)

select
    experiment_id,
    metric_id,
    variant,
    analysis_date,
    user_id,
    cast(observed_value as {{ exptrack_type_double() }}) as observed_value
from observations
