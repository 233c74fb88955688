{{
    config(
        materialized='incremental',
        incremental_strategy=exptrack_incremental_strategy(),
        pre_hook="{{ exptrack_delete_refresh_scope('event_partition') }}",
        partition_by=('partition_date' if target.type == 'spark' else none),
    )
}}
-- depends_on: {{ ref('int_refresh_scope') }}

-- The kept event ids of int_events_deduplicated as 64-bit hashes (exptrack_id_hash), with their partition: what
-- int_events_deduplicated needs to find a new event id already kept in an earlier partition. Reading an 8-byte
-- hash and comparing integers costs a fraction of reading and hashing every kept id string on every run; a matching
-- hash is a candidate only, checked against the kept id itself (int_events_deduplicated). Incremental by event
-- partition like int_events_deduplicated (built right after it, same scope), plus one check row (partition_date
-- 1900-01-01, no event partition's: the hash of exptrack_id_hash_check(), written by a full build and never in an
-- event partition's scope): a table written with another hash function is not used
-- (macros/exptrack_event_id_hashes.sql).
{%- set rebuild_all, since = exptrack_refresh_since() if is_incremental() else (true, none) %}

select
    {{ exptrack_id_hash('deduplicated.event_id') }} as event_id_hash,
    deduplicated.partition_date
from {{ ref('int_events_deduplicated') }} as deduplicated
{% if is_incremental() %}
    where {{ exptrack_in_refresh_scope('event_partition', 'deduplicated') }}
{% endif %}
{% if rebuild_all %}
    union all
    select
        {{ exptrack_id_hash(exptrack_id_hash_check()) }} as event_id_hash,
        cast('1900-01-01' as date) as partition_date
{% endif %}
