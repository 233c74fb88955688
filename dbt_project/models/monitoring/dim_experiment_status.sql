{{ config(materialized='view') }}
-- Each experiment's effective status, the rule of exptrack_pipeline.lifecycle.store.effective_statuses:
--   1. the registry (YAML) status,
--   2. overridden by the latest lifecycle move of a person (state.lifecycle_events: `exptrack move` / `decide`),
--   3. overridden by the latest pause or resume at or after that move (state.experiment_status_events), but only
--      while the status from 1-2 is running or paused (a pause never re-opens a concluded experiment).
-- A view, so moves and pauses made after `dbt build` show at once.
with experiments as (

    select * from {{ ref('stg_experiments') }}

),

lifecycle_moves as (

    select
        experiment_id,
        to_status,
        actor,
        reason,
        occurred_at,
        row_number() over (partition by experiment_id order by occurred_at desc) as recency
    from {{ source('registry', 'lifecycle_events') }}
    where event_type = 'transition' and to_status is not null

),

base_status as (

    select
        experiments.experiment_id,
        experiments.status as registry_status,
        coalesce(moves.to_status, experiments.status) as base_status,
        moves.to_status is not null as moved,
        moves.actor as moved_by,
        moves.reason as move_reason,
        moves.occurred_at as moved_at
    from experiments
    left join lifecycle_moves as moves
        on experiments.experiment_id = moves.experiment_id and moves.recency = 1

),

pauses_after_move as (

    select
        events.experiment_id,
        events.status,
        events.reason,
        events.actor,
        events.changed_at,
        events.trigger,
        row_number()
            over (partition by events.experiment_id order by events.changed_at desc, events.event_seq desc)
            as recency
    from {{ source('registry', 'experiment_status_events') }} as events
    inner join base_status
        on events.experiment_id = base_status.experiment_id
    where base_status.moved_at is null or events.changed_at >= base_status.moved_at

),

latest_pause as (

    select * from pauses_after_move
    where recency = 1

),

resolved as (

    select
        base_status.*,
        latest_pause.status as pause_status,
        latest_pause.reason as pause_reason,
        latest_pause.actor as pause_actor,
        latest_pause.changed_at as paused_at,
        latest_pause.trigger as pause_trigger,
        base_status.base_status in ('running', 'paused') and latest_pause.status is not null as pause_applies
    from base_status
    left join latest_pause
        on base_status.experiment_id = latest_pause.experiment_id

)

select
    experiment_id,
    registry_status,
    case when pause_applies then pause_status else base_status end as effective_status,
    case when pause_applies then pause_reason when moved then move_reason end as status_reason,
    case when pause_applies then pause_actor when moved then moved_by end as status_actor,
    case when pause_applies then paused_at when moved then moved_at end as status_changed_at,
    case when pause_applies then pause_trigger end as status_trigger,
    case when pause_applies then 'pause_resume' when moved then 'lifecycle' else 'registry' end as status_source
from resolved
