-- The experiments whose every unit the exposure-side incremental models rebuild this run (scope exposure_unit,
-- macros/exptrack_exposure_scope.sql): a new, changed or removed experiment (dates, phases, variants, unit:
-- int_refresh_scope), and an experiment whose analysed phase moved since the last successful run (a phase started:
-- int_experiment_analysed_phases against int_refresh_analysed_phases). Without that state every experiment.
{% set previous = adapter.get_relation(
    database=this.database, schema=this.schema, identifier='int_refresh_analysed_phases'
) if execute else none %}

with changed_experiments as (

    select scope_key as experiment_id
    from {{ ref('int_refresh_scope') }}
    where scope_kind = 'experiment'

),

current_phases as (

    select * from {{ ref('int_experiment_analysed_phases') }}

),

moved_phases as (

    {% if previous is none %}
        select experiment_id from current_phases
    {% else %}
        select coalesce(current_phases.experiment_id, previous_phases.experiment_id) as experiment_id
        from current_phases
        full outer join {{ previous }} as previous_phases
            on current_phases.experiment_id = previous_phases.experiment_id
        where current_phases.experiment_id is null
            or previous_phases.experiment_id is null
            or current_phases.analysed_phase <> previous_phases.analysed_phase
    {% endif %}

)

select distinct cast(experiment_id as {{ dbt.type_string() }}) as experiment_id
from (
    select experiment_id from changed_experiments
    union all
    select experiment_id from moved_phases
) as experiments
where experiment_id is not null
