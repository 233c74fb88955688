-- depends_on: {{ ref('int_refresh_scope') }}
-- depends_on: {{ ref('int_refresh_metric_dates') }}
-- depends_on: {{ ref('int_unit_metric_daily') }}
-- depends_on: {{ ref('int_unit_metric_covariates') }}
-- depends_on: {{ ref('stg_metrics') }}
-- The rows of int_variant_metric_daily_deltas that a moved winsorisation cap changes outside the days this run
-- rebuilds, corrected to the new cap; read from the stored deltas before they are rebuilt (the deltas model deletes
-- these keys and appends these rows). Each stored row carries the cap it was built with (`cap`), so a run that fails
-- after the deltas were rewritten and before the refresh state leaves nothing to correct twice.
-- Exact: a unit-day's value is min(y, cap) (macros/exptrack_unit_value.sql) of its running totals y now and the day
-- before, so a change of cap from c0 to c1 changes its contribution only if one of them exceeds min(c0, c1); a unit
-- whose positive amounts sum to at most that never has (y ≤ Σ max(amount, 0)). A row, built from the same unit-days
-- since (every changed unit-day is from int_refresh_metric_dates.delta_since_date on), becomes its stored value plus,
-- over those units' unit-days that day, the new contribution less the old; what does not depend on the value (n, the
-- denominators, the covariates' own sums) is kept.
{%- set stored_deltas = exptrack_stored_deltas() if not flags.FULL_REFRESH else none %}
{%- set rebuild_all, since = exptrack_refresh_since() %}
{%- set changed = exptrack_refresh_changed_keys() if not rebuild_all else {'metric': [], 'experiment': []} %}
{%- set value_statistics = ['sum', 'sum_sq', 'sum_num_den', 'sum_xy', 'sum_wy'] %}

{%- set moved_pairs -%}
    -- experiments' metrics with stored rows built with another cap than the current one (null: uncapped), with the
    -- lower of the two caps; a changed metric or experiment is rebuilt whole instead
    select
        stored_caps.experiment_id,
        stored_caps.metric_id,
        min(least(coalesce(stored_caps.cap, caps.cap), coalesce(caps.cap, stored_caps.cap))) as floor_cap
    from (select distinct experiment_id, metric_id, cap from {{ stored_deltas }}) as stored_caps
    left join {{ ref('int_metric_caps') }} as caps
        on stored_caps.experiment_id = caps.experiment_id
        and stored_caps.metric_id = caps.metric_id
    where ((stored_caps.cap is null) <> (caps.cap is null) or stored_caps.cap <> caps.cap)
    {%- if changed['metric'] %}
        and stored_caps.metric_id not in ({{ exptrack_sql_strings(changed['metric']) }})
    {%- endif %}
    {%- if changed['experiment'] %}
        and stored_caps.experiment_id not in ({{ exptrack_sql_strings(changed['experiment']) }})
    {%- endif %}
    group by stored_caps.experiment_id, stored_caps.metric_id
{%- endset %}
{#- read once before the model runs: without a moved cap the model reads no table at all -#}
{%- set any_moved = execute and stored_deltas is not none and not rebuild_all
    and run_query("select count(*) from (" ~ moved_pairs ~ ") as moved").rows[0][0] > 0 %}

{% if not any_moved %}
    select
        cast(null as {{ dbt.type_string() }}) as experiment_id,
        cast(null as {{ dbt.type_string() }}) as metric_id,
        cast(null as {{ dbt.type_string() }}) as variant,
        cast(null as date) as analysis_date,
        {%- for stat in exptrack_sufficient_statistic_names() %}
            cast(null as {{ exptrack_sufficient_statistic_type(stat) }}) as delta_{{ stat }},
        {%- endfor %}
        cast(null as {{ exptrack_type_double() }}) as cap
    where 1 = 0
{% else %}
with stored as (

    select * from {{ stored_deltas }}

),

caps as (

    select * from {{ ref('int_metric_caps') }}

),

moved as (

    {{ moved_pairs }}

),

rewritten as (

    -- the stored rows of those metrics before the days this run rebuilds, to be written with the current cap
    select
        stored.*,
        caps.cap as new_cap
    from stored
    inner join moved
        on stored.experiment_id = moved.experiment_id
        and stored.metric_id = moved.metric_id
    left join caps
        on stored.experiment_id = caps.experiment_id
        and stored.metric_id = caps.metric_id
    left join {{ ref('int_refresh_metric_dates') }} as refresh_dates
        on stored.experiment_id = refresh_dates.experiment_id
        and stored.metric_id = refresh_dates.metric_id
    where refresh_dates.delta_since_date is null or stored.analysis_date < refresh_dates.delta_since_date

),

unit_totals as (

    -- each unit's sum of positive amounts, over the unit-days of the moved metrics only
    -- Performance: a filter (semi-join) before the sum, the floor compared after it. With the moved pairs joined
    -- inside the aggregate (floor_cap in its HAVING), DuckDB may sum every metric's units first and join after: with
    -- 13 moved pairs at 100M events, 6.4M groups for the 1.0M units of the moved metrics, 11-13 CPU-s against 6-7.
    select
        daily.experiment_id,
        daily.metric_id,
        daily.user_id,
        sum(case when daily.numerator_amount > 0 then daily.numerator_amount else 0 end) as positive_total
    from {{ ref('int_unit_metric_daily') }} as daily
    where exists (
        select 1 from moved
        where moved.experiment_id = daily.experiment_id
            and moved.metric_id = daily.metric_id
    )
    group by daily.experiment_id, daily.metric_id, daily.user_id

),

candidate_units as (

    -- the units whose running total can exceed the lower cap on some day
    select
        unit_totals.experiment_id,
        unit_totals.metric_id,
        unit_totals.user_id
    from unit_totals
    inner join moved
        on unit_totals.experiment_id = moved.experiment_id
        and unit_totals.metric_id = moved.metric_id
    where unit_totals.positive_total > moved.floor_cap

),

candidate_days as (

    select
        daily.experiment_id,
        daily.metric_id,
        daily.variant,
        daily.user_id,
        daily.activity_date,
        daily.numerator_amount,
        daily.denominator_amount,
        {{ exptrack_unit_running_totals('daily') }}
    from {{ ref('int_unit_metric_daily') }} as daily
    inner join candidate_units
        on daily.experiment_id = candidate_units.experiment_id
        and daily.metric_id = candidate_units.metric_id
        and daily.user_id = candidate_units.user_id

),

unit_day_values as (

    select
        candidate_days.experiment_id,
        candidate_days.metric_id,
        candidate_days.variant,
        candidate_days.activity_date as analysis_date,
        coalesce(covariates.covariate, 0) as covariate,
        coalesce(covariates.covariate_den, 0) as covariate_den,
        candidate_days.denominator_total as denominator_now,
        candidate_days.denominator_total - candidate_days.denominator_amount as denominator_before,
        {{ exptrack_unit_value('candidate_days.numerator_total', 'metrics.stat_kind', 'rewritten.new_cap') }}
            as new_now,
        {{ exptrack_unit_value(
            'candidate_days.numerator_total - candidate_days.numerator_amount', 'metrics.stat_kind', 'rewritten.new_cap'
        ) }} as new_before,
        {{ exptrack_unit_value('candidate_days.numerator_total', 'metrics.stat_kind', 'rewritten.cap') }} as old_now,
        {{ exptrack_unit_value(
            'candidate_days.numerator_total - candidate_days.numerator_amount', 'metrics.stat_kind', 'rewritten.cap'
        ) }} as old_before
    from candidate_days
    inner join rewritten
        on candidate_days.experiment_id = rewritten.experiment_id
        and candidate_days.metric_id = rewritten.metric_id
        and candidate_days.variant = rewritten.variant
        and candidate_days.activity_date = rewritten.analysis_date
    inner join {{ ref('stg_metrics') }} as metrics
        on candidate_days.metric_id = metrics.metric_id
    left join {{ ref('int_unit_metric_covariates') }} as covariates
        on candidate_days.experiment_id = covariates.experiment_id
        and candidate_days.metric_id = covariates.metric_id
        and candidate_days.user_id = covariates.user_id

),

corrections as (

    -- Σ (new − old contribution) of each value-dependent statistic (int_variant_metric_daily_deltas' formulas)
    select
        experiment_id,
        metric_id,
        variant,
        analysis_date,
        sum((new_now - new_before) - (old_now - old_before)) as delta_sum,
        sum((new_now * new_now - new_before * new_before) - (old_now * old_now - old_before * old_before))
            as delta_sum_sq,
        sum(
            (new_now * denominator_now - new_before * denominator_before)
            - (old_now * denominator_now - old_before * denominator_before)
        ) as delta_sum_num_den,
        sum(covariate * ((new_now - new_before) - (old_now - old_before))) as delta_sum_xy,
        sum(covariate_den * ((new_now - new_before) - (old_now - old_before))) as delta_sum_wy
    from unit_day_values
    group by experiment_id, metric_id, variant, analysis_date

)

select
    rewritten.experiment_id,
    rewritten.metric_id,
    rewritten.variant,
    rewritten.analysis_date,
    {%- for stat in exptrack_sufficient_statistic_names() %}
        {%- if stat in value_statistics %}
            rewritten.delta_{{ stat }} + coalesce(corrections.delta_{{ stat }}, 0) as delta_{{ stat }},
        {%- else %}
            rewritten.delta_{{ stat }},
        {%- endif %}
    {%- endfor %}
    rewritten.new_cap as cap
from rewritten
left join corrections
    on rewritten.experiment_id = corrections.experiment_id
    and rewritten.metric_id = corrections.metric_id
    and rewritten.variant = corrections.variant
    and rewritten.analysis_date = corrections.analysis_date
{% endif %}
