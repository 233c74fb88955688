-- An event id delivered more than once (e.g. re-sent in a later day's file) counts once: the earliest copy
-- (by partition date, file, row).
-- Performance: copies within a day are already removed at load, so repeated ids are rare. One aggregate finds them,
-- only their copies are ranked, every other event passes through: no window (a sort of every event) over the table.
with repeated_ids as (

    select event_id
    from {{ ref('stg_events') }}
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
        from {{ ref('stg_events') }} as events
        inner join repeated_ids
            on events.event_id = repeated_ids.event_id
    ) as ranked
    where copy_number = 1

),

single_copies as (

    select events.*
    from {{ ref('stg_events') }} as events
    left join repeated_ids
        on events.event_id = repeated_ids.event_id
    where repeated_ids.event_id is null

)

{% set columns = "event_id, user_id, anonymous_id, device_id, event_name, occurred_at, event_date, event_value, "
    ~ "session_id, partition_date" %}
select {{ columns }} from single_copies
union all
select {{ columns }} from first_copies
