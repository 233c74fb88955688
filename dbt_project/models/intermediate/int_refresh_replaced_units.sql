-- The units whose rows in the partition-level incremental tables (int_unit_metric_daily_by_partition,
-- int_unit_metric_pre_period) this run is about to replace because their partition changed, read before those
-- tables are rebuilt (they depend on this model): a row of a re-sent day that is not sent again leaves no trace
-- afterwards, yet its unit's sums must be rebuilt (int_refresh_units). since_date: the unit's earliest day touched
-- (the activity day; for pre-period amounts the unit's exposure day). Empty when no partition changed or on a full
-- rebuild (scope all: every row is rebuilt anyway).
-- depends_on: {{ ref('int_refresh_scope') }}
-- depends_on: {{ ref('int_assignments') }}
{%- set rebuild_all, since = exptrack_refresh_since() %}
{%- set by_partition = adapter.get_relation(
    database=this.database, schema=this.schema, identifier='int_unit_metric_daily_by_partition'
) if execute else none %}
{%- set pre_period = adapter.get_relation(
    database=this.database, schema=this.schema, identifier='int_unit_metric_pre_period'
) if execute else none %}

{% if since is not none and not rebuild_all and by_partition is not none and pre_period is not none %}
    select
        experiment_id,
        metric_id,
        user_id,
        min(since_date) as since_date
    from ({{ exptrack_units_in_partitions(by_partition, pre_period, since) }}) as replaced_rows
    group by experiment_id, metric_id, user_id
{% else %}
    select
        experiment_id,
        cast(null as {{ dbt.type_string() }}) as metric_id,
        user_id,
        cast(null as date) as since_date
    from {{ ref('int_assignments') }}
    where 1 = 0
{% endif %}
