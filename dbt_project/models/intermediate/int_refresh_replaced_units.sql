-- The units whose rows in the partition-level incremental tables (int_unit_metric_daily_by_partition,
-- int_unit_metric_pre_period) this run is about to replace because their partition changed, read before those
-- tables are rebuilt (they depend on this model): a row of a re-sent day that is not sent again leaves no trace
-- afterwards, yet its unit's sums must be rebuilt (int_refresh_units). since_date: the unit's earliest day touched
-- (the activity day; for pre-period amounts the unit's exposure day). Empty when no partition changed or on a full
-- rebuild (scope all: every row is rebuilt anyway).
-- depends_on: {{ ref('int_refresh_scope') }}
{%- set rebuild_all, since = exptrack_refresh_since() %}
{%- set by_partition = adapter.get_relation(
    database=this.database, schema=this.schema, identifier='int_unit_metric_daily_by_partition'
) if execute else none %}
{%- set pre_period = adapter.get_relation(
    database=this.database, schema=this.schema, identifier='int_unit_metric_pre_period'
) if execute else none %}
{%- set replaced = since is not none and not rebuild_all %}

with assignments as (

    select * from {{ ref('int_assignments') }}

),

replaced_rows as (

    select
        experiment_id,
        cast(null as {{ dbt.type_string() }}) as metric_id,
        user_id,
        cast(null as date) as since_date
    from assignments
    where 1 = 0
    {% if replaced and by_partition is not none %}
        union all
        select
            experiment_id,
            metric_id,
            user_id,
            activity_date as since_date
        from {{ by_partition }}
        where partition_date >= cast('{{ since }}' as date)
    {% endif %}
    {% if replaced and pre_period is not none %}
        union all
        -- a unit no longer analysed left through an assignment change, which int_refresh_units adds anyway
        select
            pre_period.experiment_id,
            pre_period.metric_id,
            pre_period.user_id,
            assignments.exposure_date as since_date
        from {{ pre_period }} as pre_period
        inner join assignments
            on pre_period.experiment_id = assignments.experiment_id
            and pre_period.user_id = assignments.user_id
        where pre_period.partition_date >= cast('{{ since }}' as date)
    {% endif %}

)

select
    experiment_id,
    metric_id,
    user_id,
    min(since_date) as since_date
from replaced_rows
group by experiment_id, metric_id, user_id
