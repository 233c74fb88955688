-- The units (experiment × unit id) with a row in a changed exposure partition as int_exposures_classified holds it
-- *before* this run rebuilds it (that model depends on this one): a unit whose only exposure a re-sent day drops
-- leaves no trace afterwards, yet its first exposure must be recomputed (int_refresh_exposure_units). Empty when no
-- exposure partition changed or on a full rebuild (scope all: every row is rebuilt anyway).
-- depends_on: {{ ref('int_refresh_scope') }}
{%- set rebuild_all, partitions = exptrack_changed_exposure_partitions() %}
{%- set classified = adapter.get_relation(
    database=this.database, schema=this.schema, identifier='int_exposures_classified'
) if execute else none %}

{% if partitions and not rebuild_all and classified is not none %}
    select distinct
        experiment_id,
        user_id
    from {{ classified }}
    where partition_date in ({{ exptrack_date_literals(partitions) }})
        and user_id is not null
{% else %}
    select
        experiment_id,
        user_id
    from {{ ref('stg_exposures') }}
    where 1 = 0
{% endif %}
