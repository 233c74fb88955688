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

),

-- Performance: `resolved` is read once (joined to the units in use, one row each) rather than once per unit kind in
-- a union: a CTE read several times is materialized by DuckDB for every event, which no filter of a reader (a
-- changed partition's literal date) can then prune, and which held every event in memory at 100M events.
unit_rows as (

    select
        resolved.event_id,
        resolved.event_name,
        resolved.occurred_at,
        resolved.event_date,
        resolved.event_value,
        resolved.session_id,
        resolved.partition_date,
        units_in_use.unit_type,
        case units_in_use.unit_type
            when 'user_id' then resolved.user_unit
            when 'anonymous_id' then resolved.anonymous_unit
            when 'device_id' then resolved.device_unit
        end as user_id
    from resolved
    cross join units_in_use

)

select * from unit_rows
where user_id is not null
