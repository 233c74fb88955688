-- An event id delivered more than once (e.g. re-sent in a later day's file) counts once: the earliest copy.
with events as (

    select * from {{ ref('stg_events') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by event_id
            order by partition_date, source_file, source_row
        ) as copy_number
    from events

)

select
    event_id,
    user_id,
    event_name,
    occurred_at,
    event_date,
    event_value,
    session_id,
    partition_date
from ranked
where copy_number = 1
