-- The event dates of the deduplicated events this run is about to replace (int_events_deduplicated's rows of the
-- changed partitions on), read before that table is rebuilt (it depends on this model): an event of a re-sent day
-- that is not sent again leaves no trace afterwards, yet the activity of its day must be recounted
-- (int_refresh_activity_dates). Empty when no partition changed or on a full rebuild.
-- depends_on: {{ ref('int_refresh_scope') }}
{%- set rebuild_all, since = exptrack_refresh_since() %}
{%- set deduplicated = adapter.get_relation(
    database=this.database, schema=this.schema, identifier='int_events_deduplicated'
) if execute else none %}

{% if since is not none and not rebuild_all and deduplicated is not none %}
    select distinct event_date
    from {{ deduplicated }}
    where partition_date >= cast('{{ since }}' as date)
{% else %}
    select cast(null as date) as event_date
    from {{ ref('int_refresh_scope') }}
    where 1 = 0
{% endif %}
