-- Each experiment's analysed allocation phase: the latest phase that has started by the data's last day (the last
-- events partition). int_assignments keeps the units first exposed in it; when it moves (a phase starts, the phases
-- are edited) every unit of the experiment is re-assigned (int_refresh_exposure_experiments).
with phases as (

    select distinct
        experiment_id,
        allocation_phase,
        phase_start
    from {{ ref('stg_experiment_allocation_phases') }}

),

data_through as (

    select max(partition_date) as data_through_date from {{ ref('stg_events') }}

)

select
    phases.experiment_id,
    max(phases.allocation_phase) as analysed_phase
from phases
cross join data_through
where phases.phase_start <= data_through.data_through_date
group by phases.experiment_id
