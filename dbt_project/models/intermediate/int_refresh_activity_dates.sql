-- The days of unit activity this run recounts (int_experiment_unit_activity, scope activity_dates), as date ranges
-- per experiment (experiment_id null: every experiment): each event date of a replaced or rebuilt partition's events
-- (before: int_refresh_replaced_event_dates; after: the rebuilt partitions), an experiment's days from the earliest
-- exposure date of a unit whose assignment changed, and every day of a changed experiment. Empty on a full rebuild
-- (scope all).
-- depends_on: {{ ref('int_refresh_scope') }}
-- depends_on: {{ ref('int_events_deduplicated') }}
{%- set rebuild_all, since = exptrack_refresh_since() %}

with changed as (

    select
        cast(null as {{ dbt.type_string() }}) as experiment_id,
        event_date as from_date,
        event_date as through_date
    from {{ ref('int_refresh_replaced_event_dates') }}
    {% if since is not none %}
        union all
        select distinct
            cast(null as {{ dbt.type_string() }}) as experiment_id,
            event_date as from_date,
            event_date as through_date
        from {{ ref('int_events_deduplicated') }}
        where partition_date >= cast('{{ since }}' as date)
    {% endif %}
    union all
    select
        experiment_id,
        min(since_date) as from_date,
        cast(null as date) as through_date
    from {{ ref('int_assignment_changes') }}
    group by experiment_id
    union all
    select
        scope_key as experiment_id,
        cast('1900-01-01' as date) as from_date,
        cast(null as date) as through_date
    from {{ ref('int_refresh_scope') }}
    where scope_kind = 'experiment'

)

select distinct
    experiment_id,
    from_date,
    through_date
from changed
where {{ "false" if rebuild_all else "true" }}
