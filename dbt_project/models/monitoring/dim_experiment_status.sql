{{ config(materialized='view') }}
-- Each experiment's effective status. The rule has one owner, exptrack_pipeline/lifecycle/status.py (the CLI needs it
-- before dbt runs); exptrack rewrites state.experiment_status whenever the registry, a lifecycle move or a pause or
-- resume changes, so this view is current between pipeline runs.
select
    experiment_id,
    registry_status,
    effective_status,
    status_reason,
    status_actor,
    status_changed_at,
    status_trigger,
    status_source
from {{ source('registry', 'experiment_status') }}
