{{
    config(
        materialized='incremental',
        incremental_strategy=exptrack_incremental_strategy(),
        pre_hook="{{ exptrack_delete_refresh_scope('event_partition') }}",
    )
}}
-- depends_on: {{ ref('int_refresh_scope') }}
-- depends_on: {{ ref('int_refresh_replaced_event_dates') }}

-- An event id delivered more than once (e.g. re-sent in a later day's file) counts once: the earliest copy
-- (by partition date, file, row).
-- Performance: copies within a day are already removed at load, so repeated ids are rare. One aggregate finds them,
-- only their copies are ranked, every other event passes through: no window (a sort of every event) over the table.
-- `events` is read three times and inlined (exptrack_not_materialized): a copy of every event cost 3x the reads.
-- Incremental: a run rebuilds the partitions from the earliest changed one on (int_refresh_scope); the pre-hook has
-- deleted their rows, so the table holds the first copies of the earlier partitions, which win over any copy here.
-- Performance: which new ids are already kept is found in the narrow int_event_id_hashes (a 64-bit hash per kept id,
-- as the last run left it, its partitions before the changed one), and only the matches (the late copies, and hash
-- collisions) are checked against the kept ids themselves, in the partitions the hashes name; not every kept id
-- string read and hashed on every run. Without a usable hash table: every kept id (exptrack_event_id_hashes.sql).
{%- set rebuild_all, since = exptrack_refresh_since() if is_incremental() else (true, none) %}
{%- set hashes = exptrack_checked_event_id_hashes() if is_incremental() and not rebuild_all and since else none %}
with events as {{ exptrack_not_materialized() }} (

    select events.*
    from {{ ref('stg_events') }} as events
    {% if is_incremental() %}
        where {{ exptrack_in_refresh_scope('event_partition', 'events') }}
    {% endif %}

),

repeated_ids as (

    select event_id
    from events
    group by event_id
    having count(*) > 1

),

first_copies as (

    select *
    from (
        select
            events.*,
            row_number() over (
                partition by events.event_id
                order by events.partition_date, events.source_file, events.source_row
            ) as copy_number
        from events
        inner join repeated_ids
            on events.event_id = repeated_ids.event_id
    ) as ranked
    where copy_number = 1

),

single_copies as (

    select events.*
    from events
    left join repeated_ids
        on events.event_id = repeated_ids.event_id
    where repeated_ids.event_id is null

),

{% set columns = "event_id, user_id, anonymous_id, device_id, event_name, occurred_at, event_date, event_value, "
    ~ "session_id, partition_date" %}
deduplicated as (

    select {{ columns }} from single_copies
    union all
    select {{ columns }} from first_copies

){% if hashes is not none %},

kept_matches as (

    -- the kept hashes of earlier partitions equal to a new id's: a semi-join built on the (few) new ids, probed by a
    -- scan of the narrow hash column
    select
        hashes.event_id_hash,
        hashes.partition_date
    from {{ hashes }} as hashes
    where hashes.partition_date < cast('{{ since }}' as date)
        and hashes.event_id_hash in (
            select {{ exptrack_id_hash('new_ids.event_id') }} from deduplicated as new_ids
        )

),

kept_candidates as (

    -- the new ids with a matching kept hash, and the partition of that kept event
    select
        deduplicated.event_id,
        kept_matches.partition_date
    from deduplicated
    inner join kept_matches
        on {{ exptrack_id_hash('deduplicated.event_id') }} = kept_matches.event_id_hash

),

already_kept as (

    -- of those, the ids a kept event really has (a hash match is a candidate only), read in its partition alone
    select distinct kept.event_id
    from {{ this }} as kept
    inner join kept_candidates
        on kept.event_id = kept_candidates.event_id
        and kept.partition_date = kept_candidates.partition_date

){% endif %}

select deduplicated.*
from deduplicated
{% if hashes is not none %}
    where not exists (
        select 1 from already_kept
        where already_kept.event_id = deduplicated.event_id
    )
{% elif is_incremental() %}
    where not exists (
        select 1 from {{ this }} as kept
        where kept.event_id = deduplicated.event_id
    )
{% endif %}
