{{
    config(
        materialized='incremental',
        incremental_strategy=exptrack_incremental_strategy(),
        pre_hook="{{ exptrack_delete_delta_scope() }}",
        on_schema_change='append_new_columns',
    )
}}
-- depends_on: {{ ref('int_refresh_scope') }}
-- depends_on: {{ ref('int_refresh_metric_dates') }}
-- depends_on: {{ ref('int_refresh_cap_corrections') }}

-- What each day adds to every cumulative sufficient statistic, per experiment, metric and variant.
-- A unit enters (n, Σx, Σx²) on its entry date: its exposure date, or exposure date + n for retention Dn.
-- A unit's value y(d) is a running total, so Σy² grows on day d by y(d)² − y(d−1)² (likewise Σd², Σy·d, Σx·y, and
-- Σx·d, Σw·y, Σw·d of the pre-period denominator w; Σw, Σw², Σx·w enter with the unit):
-- exact cumulative statistics from sparse unit-days, without a unit × day cross join.
-- Incremental: a run rebuilds, per experiment and metric, the days from the earliest one a change touches on
-- (int_refresh_metric_dates.delta_since_date, exptrack_in_delta_scope): the entries of units entering from then on,
-- and the running totals of the units active from then on (read over all their days, kept from then on); earlier
-- days are unchanged, or, where the metric's percentile cap moved, corrected to the new cap from the few units above
-- the lower cap (int_refresh_cap_corrections). Each row records the cap it was built with (`cap`).
-- Performance: on an incremental run the units' days before the first rebuilt day only give each unit its starting
-- totals (a sum per unit, unit_history); the window that computes the running totals sorts the rebuilt days alone
-- (at 100M events, day 30: ~0.6M of the 3.6M unit-days read), and the covariates join those rows alone.
{%- set split_date = exptrack_metric_dates_from() if is_incremental() else none %}
with daily as (

    select daily.*
    from {{ ref('int_unit_metric_daily') }} as daily
    {% if is_incremental() %}
        -- the units active on a rebuilt day, with all their days (their running totals start at their first); the
        -- literal bounds (exptrack_metric_dates_bounds.sql) let the warehouse skip the rows no rebuilt day can need
        where {{ exptrack_metric_dates_since() }} and exists (
            select 1
            from {{ ref('int_unit_metric_daily') }} as rebuilt_day
            where rebuilt_day.experiment_id = daily.experiment_id
                and rebuilt_day.metric_id = daily.metric_id
                and rebuilt_day.user_id = daily.user_id
                and {{ exptrack_metric_dates_since('rebuilt_day.activity_date') }}
                and {{ exptrack_in_delta_scope('rebuilt_day', 'activity_date') }}
        )
    {% endif %}

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

caps as (

    select * from {{ ref('int_metric_caps') }}

),

covariates as (

    select * from {{ ref('int_unit_metric_covariates') }}

),
{%- if split_date is not none %}

unit_history as (

    -- each unit's totals over its days before the first rebuilt day
    select
        experiment_id,
        metric_id,
        user_id,
        sum(numerator_amount) as numerator_before,
        sum(denominator_amount) as denominator_before
    from daily
    where activity_date < cast('{{ split_date }}' as date)
    group by experiment_id, metric_id, user_id

),

rebuilt_days as (

    -- the units' days from the first rebuilt day on, with their starting totals
    select
        daily.*,
        coalesce(unit_history.numerator_before, 0) as numerator_before,
        coalesce(unit_history.denominator_before, 0) as denominator_before
    from daily
    left join unit_history
        on daily.experiment_id = unit_history.experiment_id
        and daily.metric_id = unit_history.metric_id
        and daily.user_id = unit_history.user_id
    where daily.activity_date >= cast('{{ split_date }}' as date)

),
{%- endif %}

{%- set entry_date -%}
    case
        when metrics.metric_kind = 'retention'
            then cast({{ dbt.dateadd('day', 'metrics.retention_day', 'assignments.exposure_date') }} as date)
        else assignments.exposure_date
    end
{%- endset %}

unit_entries as (

    select
        assignments.experiment_id,
        experiment_metrics.metric_id,
        assignments.variant,
        {{ entry_date }} as analysis_date,
        coalesce(covariates.covariate, 0) as covariate,
        coalesce(covariates.covariate_den, 0) as covariate_den
    from assignments
    inner join experiment_metrics
        on assignments.experiment_id = experiment_metrics.experiment_id
    inner join metrics
        on experiment_metrics.metric_id = metrics.metric_id
    left join covariates
        on assignments.experiment_id = covariates.experiment_id
        and experiment_metrics.metric_id = covariates.metric_id
        and assignments.user_id = covariates.user_id
    {% if is_incremental() %}
        -- the literal day bound before the covariates' join (the exact scope is in entry_deltas): a quiet day joins
        -- the new day's entries, not every unit's
        where {{ exptrack_metric_dates_since(entry_date) }}
    {% endif %}

),

entry_deltas as (

    select
        experiment_id,
        metric_id,
        variant,
        analysis_date,
        count(*) as delta_n,
        sum(covariate) as delta_sum_x,
        sum(covariate * covariate) as delta_sum_x_sq,
        sum(covariate_den) as delta_sum_w,
        sum(covariate_den * covariate_den) as delta_sum_w_sq,
        sum(covariate * covariate_den) as delta_sum_xw
    from unit_entries
    {% if is_incremental() %}
        where {{ exptrack_metric_dates_since() }}
            and {{ exptrack_in_delta_scope('unit_entries') }}
    {% endif %}
    group by experiment_id, metric_id, variant, analysis_date

),

running_totals as (

    select
        daily.experiment_id,
        daily.metric_id,
        daily.variant,
        daily.activity_date,
        daily.numerator_amount,
        daily.denominator_amount,
        metrics.stat_kind,
        caps.cap,
        coalesce(covariates.covariate, 0) as covariate,
        coalesce(covariates.covariate_den, 0) as covariate_den,
        {{ exptrack_unit_running_totals('daily', starting_totals=split_date is not none) }}
    from {{ 'rebuilt_days' if split_date is not none else 'daily' }} as daily
    inner join metrics
        on daily.metric_id = metrics.metric_id
    left join caps
        on daily.experiment_id = caps.experiment_id
        and daily.metric_id = caps.metric_id
    left join covariates
        on daily.experiment_id = covariates.experiment_id
        and daily.metric_id = covariates.metric_id
        and daily.user_id = covariates.user_id

),

unit_values as (

    select
        experiment_id,
        metric_id,
        variant,
        activity_date,
        covariate,
        covariate_den,
        {{ exptrack_unit_value('numerator_total', 'stat_kind', 'cap') }} as value_now,
        {{ exptrack_unit_value('numerator_total - numerator_amount', 'stat_kind', 'cap') }} as value_before,
        denominator_total as denominator_now,
        denominator_total - denominator_amount as denominator_before
    from running_totals

),

value_deltas as (

    select
        experiment_id,
        metric_id,
        variant,
        activity_date as analysis_date,
        sum(value_now - value_before) as delta_sum,
        sum(value_now * value_now - value_before * value_before) as delta_sum_sq,
        sum(denominator_now - denominator_before) as delta_sum_den,
        sum(denominator_now * denominator_now - denominator_before * denominator_before) as delta_sum_den_sq,
        sum(value_now * denominator_now - value_before * denominator_before) as delta_sum_num_den,
        sum(covariate * (value_now - value_before)) as delta_sum_xy,
        sum(covariate * (denominator_now - denominator_before)) as delta_sum_xd,
        sum(covariate_den * (value_now - value_before)) as delta_sum_wy,
        sum(covariate_den * (denominator_now - denominator_before)) as delta_sum_wd
    from unit_values
    group by experiment_id, metric_id, variant, activity_date

),

keys as (

    select
        experiment_id,
        metric_id,
        variant,
        analysis_date
    from entry_deltas
    union
    select
        experiment_id,
        metric_id,
        variant,
        analysis_date
    from value_deltas

)

select
    keys.experiment_id,
    keys.metric_id,
    keys.variant,
    keys.analysis_date,
    coalesce(entry_deltas.delta_n, 0) as delta_n,
    coalesce(value_deltas.delta_sum, 0) as delta_sum,
    coalesce(value_deltas.delta_sum_sq, 0) as delta_sum_sq,
    coalesce(value_deltas.delta_sum_den, 0) as delta_sum_den,
    coalesce(value_deltas.delta_sum_den_sq, 0) as delta_sum_den_sq,
    coalesce(value_deltas.delta_sum_num_den, 0) as delta_sum_num_den,
    coalesce(entry_deltas.delta_sum_x, 0) as delta_sum_x,
    coalesce(entry_deltas.delta_sum_x_sq, 0) as delta_sum_x_sq,
    coalesce(value_deltas.delta_sum_xy, 0) as delta_sum_xy,
    coalesce(entry_deltas.delta_sum_w, 0) as delta_sum_w,
    coalesce(entry_deltas.delta_sum_w_sq, 0) as delta_sum_w_sq,
    coalesce(entry_deltas.delta_sum_xw, 0) as delta_sum_xw,
    coalesce(value_deltas.delta_sum_xd, 0) as delta_sum_xd,
    coalesce(value_deltas.delta_sum_wy, 0) as delta_sum_wy,
    coalesce(value_deltas.delta_sum_wd, 0) as delta_sum_wd,
    caps.cap
from keys
left join entry_deltas
    on keys.experiment_id = entry_deltas.experiment_id
    and keys.metric_id = entry_deltas.metric_id
    and keys.variant = entry_deltas.variant
    and keys.analysis_date = entry_deltas.analysis_date
left join value_deltas
    on keys.experiment_id = value_deltas.experiment_id
    and keys.metric_id = value_deltas.metric_id
    and keys.variant = value_deltas.variant
    and keys.analysis_date = value_deltas.analysis_date
left join caps
    on keys.experiment_id = caps.experiment_id
    and keys.metric_id = caps.metric_id
{% if is_incremental() %}
    where {{ exptrack_in_delta_scope('keys') }}
    {%- if not exptrack_deltas_rebuild_all() %}
    union all
    select
        experiment_id,
        metric_id,
        variant,
        analysis_date,
        {%- for stat in exptrack_sufficient_statistic_names() %}
        delta_{{ stat }},
        {%- endfor %}
        cap
    from {{ ref('int_refresh_cap_corrections') }}
    {%- endif %}
{% endif %}
