{{
    config(
        materialized='incremental',
        incremental_strategy=exptrack_incremental_strategy(),
        pre_hook="{{ exptrack_delete_refresh_scope('activity_dates') }}",
    )
}}
-- depends_on: {{ ref('int_refresh_scope') }}
-- depends_on: {{ ref('int_refresh_activity_dates') }}

-- Per experiment and day: the events of analysed units on or after their exposure day, and how many units were
-- active (mon_experiment_daily_activity). Incremental: a run recounts the days of int_refresh_activity_dates (scope
-- activity_dates: the event dates of changed partitions, an experiment's days from a changed unit's exposure on, a
-- changed experiment's every day), reading only the events of those days.
with assignments as (

    select * from {{ ref('int_assignments') }}

),

events as (

    select events.*
    from {{ ref('int_event_units') }} as events
    {% if is_incremental() %}
        where {{ exptrack_event_dates_in_refresh_scope('events.event_date') }}
    {% endif %}

),

unit_events as (

    select
        assignments.experiment_id,
        events.event_date as activity_date,
        count(*) as events,
        count(distinct events.user_id) as active_units
    from assignments
    inner join events
        on assignments.user_id = events.user_id
        and assignments.unit_type = events.unit_type
        and assignments.exposure_date <= events.event_date
    group by assignments.experiment_id, events.event_date

)

select
    experiment_id,
    activity_date,
    cast(events as {{ dbt.type_bigint() }}) as events,
    cast(active_units as {{ dbt.type_bigint() }}) as active_units
from unit_events
{% if is_incremental() %}
    where {{ exptrack_in_refresh_scope('activity_dates', 'unit_events') }}
{% endif %}
