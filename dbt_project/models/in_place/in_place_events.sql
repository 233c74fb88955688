{{ config(materialized='view', tags=['exptrack_in_place']) }}

-- The events of warehouse-table sources, mapped by the sources YAML (macros/exptrack_in_place.sql).
{{ exptrack_in_place_select('events', [
    'event_id',
    'user_id',
    'event_name',
    'occurred_at',
    'anonymous_id',
    'device_id',
    'value',
    'session_id'
]) }}
