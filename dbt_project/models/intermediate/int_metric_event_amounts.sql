-- Performance: a view. As a table it would hold every metric event once per metric part that uses it (~1.7 rows
-- per event), written once and read twice; as a view the two readers (int_unit_metric_daily,
-- int_unit_metric_covariates) join the events to the small metric catalog on the fly, which costs less than the write.
{{ config(materialized='view') }}

-- Each deduplicated event that feeds a metric, with the amount it adds (1 for counts, its value for sums), once per
-- randomization unit in use (user_id holds that unit's id; int_event_units).
with events as (

    select * from {{ ref('int_event_units') }}

),

metric_events as (

    select * from {{ ref('stg_metric_events') }}

)

select
    metric_events.metric_id,
    metric_events.metric_part,
    events.unit_type,
    events.user_id,
    events.occurred_at,
    events.event_date,
    events.partition_date,
    case
        when metric_events.aggregation = 'sum' then coalesce(events.event_value, 0)
        else 1
    end as amount
from events
inner join metric_events
    on events.event_name = metric_events.event_name
