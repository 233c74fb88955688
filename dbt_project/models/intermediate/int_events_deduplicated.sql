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

)

select deduplicated.*
from deduplicated
{% if is_incremental() %}
    where not exists (
        select 1 from {{ this }} as kept
        where kept.event_id = deduplicated.event_id
    )
{% endif %}
