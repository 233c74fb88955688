{{ config(materialized='view') }}
-- Each experiment's effective status: the registry (YAML) status, overridden by the latest pause/resume recorded in
-- state.experiment_status_events while the YAML says running or paused. A view, so pauses made after `dbt build`
-- (by the experiment_alerts asset or `exptrack pause`) show at once. Same rule as exptrack_pipeline.notify.state.effective_status.
with experiments as (

    select * from {{ ref('stg_experiments') }}

),

events as (

    select * from {{ source('registry', 'experiment_status_events') }}

),

ranked as (

    select
        experiment_id,
        status,
        reason,
        actor,
        changed_at,
        trigger,
        row_number() over (partition by experiment_id order by changed_at desc, event_seq desc) as recency
    from events

),

latest as (

    select * from ranked where recency = 1

)

select
    experiments.experiment_id,
    experiments.status as registry_status,
    case
        when experiments.status in ('running', 'paused') and latest.status is not null then latest.status
        else experiments.status
    end as effective_status,
    case
        when experiments.status in ('running', 'paused') and latest.status is not null then latest.reason
    end as status_reason,
    case
        when experiments.status in ('running', 'paused') and latest.status is not null then latest.actor
    end as status_actor,
    case
        when experiments.status in ('running', 'paused') and latest.status is not null then latest.changed_at
    end as status_changed_at,
    case
        when experiments.status in ('running', 'paused') and latest.status is not null then latest.trigger
    end as status_trigger
from experiments
left join latest
    on experiments.experiment_id = latest.experiment_id
