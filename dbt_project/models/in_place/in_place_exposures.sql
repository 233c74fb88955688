{{ config(materialized='view', tags=['exptrack_in_place']) }}

-- The exposures of warehouse-table sources, mapped by the sources YAML (macros/exptrack_in_place.sql).
{{ exptrack_in_place_select('exposures', [
    'user_id',
    'experiment_id',
    'variant',
    'exposed_at',
    'anonymous_id',
    'device_id'
]) }}
