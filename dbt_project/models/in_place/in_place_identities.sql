{{ config(materialized='view', tags=['exptrack_in_place']) }}

-- The identities of warehouse-table sources, mapped by the sources YAML (macros/exptrack_in_place.sql).
{{ exptrack_in_place_select('identities', ['user_id', 'anonymous_id', 'identified_at', 'device_id']) }}
