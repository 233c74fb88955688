-- Per experiment and metric: the earliest analysis date whose daily deltas this run rebuilds
-- (int_variant_metric_daily_deltas, scope metric_dates). A unit's value on a day is its running total, so a change
-- on day d (int_refresh_units) changes its deltas from d on; a moved percentile cap changes every unit's capped
-- value, and a changed metric or experiment everything: those rebuild the experiment's metric from its first day
-- (since_date 1900-01-01). Scope all rebuilds everything, and this table is then empty.
-- delta_since_date: the same without the moved caps (null when only the cap moved). int_variant_metric_daily_deltas
-- rebuilds from it and corrects its earlier days to a moved cap (int_refresh_cap_corrections) instead of rebuilding
-- them; the per-unit value models rebuild every unit from since_date.
-- depends_on: {{ ref('int_refresh_scope') }}
{%- set rebuild_all, since = exptrack_refresh_since() %}
{%- set previous_caps = adapter.get_relation(
    database=this.database, schema=this.schema, identifier='int_refresh_caps'
) if execute else none %}
{%- set first_day = "cast('1900-01-01' as date)" %}

with caps as (

    select * from {{ ref('int_metric_caps') }}

),

previous_caps as (

    {% if previous_caps is none %}
        select * from caps
        where 1 = 0
    {% else %}
        select * from {{ previous_caps }}
    {% endif %}

),

moved_caps as (

    -- a cap that is new, gone or another value than the deltas were last built with (int_refresh_caps)
    select
        coalesce(caps.experiment_id, previous_caps.experiment_id) as experiment_id,
        coalesce(caps.metric_id, previous_caps.metric_id) as metric_id
    from caps
    full outer join previous_caps
        on caps.experiment_id = previous_caps.experiment_id
        and caps.metric_id = previous_caps.metric_id
    where caps.cap is null
        or previous_caps.cap is null
        or caps.cap <> previous_caps.cap

),

changed_registry as (

    select
        experiment_metrics.experiment_id,
        experiment_metrics.metric_id
    from {{ ref('stg_experiment_metrics') }} as experiment_metrics
    inner join {{ ref('int_refresh_scope') }} as changed
        on (changed.scope_kind = 'metric' and experiment_metrics.metric_id = changed.scope_key)
        or (changed.scope_kind = 'experiment' and experiment_metrics.experiment_id = changed.scope_key)

),

changed as (

    select
        experiment_id,
        metric_id,
        since_date,
        since_date as delta_since_date
    from {{ ref('int_refresh_units') }}
    union all
    select
        experiment_id,
        metric_id,
        {{ first_day }} as since_date,
        cast(null as date) as delta_since_date
    from moved_caps
    union all
    select
        experiment_id,
        metric_id,
        {{ first_day }} as since_date,
        {{ first_day }} as delta_since_date
    from changed_registry

)

select
    experiment_id,
    metric_id,
    min(since_date) as since_date,
    min(delta_since_date) as delta_since_date
from changed
where {{ "false" if rebuild_all else "true" }}
group by experiment_id, metric_id
