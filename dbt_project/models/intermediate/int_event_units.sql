-- Each deduplicated event once per randomization unit in use (the `unit` of some experiment), with that unit's id
-- in user_id: the event's own id of that kind, else the id the identity map resolves from another id it carries
-- (the first-link rule of int_identity_map). A conversion logged after sign-up with a user id only reaches the
-- anonymous unit that was exposed before sign-up. Events that resolve to no id of a unit are left out for that unit.
-- Performance: a view; with only user-level experiments it is the events with two probes of an (often empty) map.
{{ config(materialized='view') }}

with events as (

    select * from {{ ref('int_events_deduplicated') }}

),

units_in_use as (

    select distinct coalesce(unit, 'user_id') as unit_type from {{ ref('stg_experiments') }}

),

identity_map as (

    select * from {{ ref('int_identity_map') }}

),

resolved as (

    select
        events.*,
        coalesce(events.user_id, anonymous_user.user_id, device_user.user_id) as user_unit,
        coalesce(events.anonymous_id, user_anonymous.id_value) as anonymous_unit,
        coalesce(events.device_id, user_device.id_value) as device_unit
    from events
    {{ exptrack_identity_map_joins('events') }}

)

{% set columns = "event_id, event_name, occurred_at, event_date, event_value, session_id, partition_date" %}
{% for unit in ['user', 'anonymous', 'device'] %}
    select {{ columns }}, cast('{{ unit }}_id' as {{ dbt.type_string() }}) as unit_type, {{ unit }}_unit as user_id
    from resolved
    where {{ unit }}_unit is not null
        and exists (
            select 1 from units_in_use
            where units_in_use.unit_type = '{{ unit }}_id'
        )
    {% if not loop.last %}union all{% endif %}
{% endfor %}
