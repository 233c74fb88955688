-- The analysed units: users with exactly one variant in the experiment, first exposed during its analysed
-- allocation phase — the latest phase that has started by the data's last day. Restricting to one phase with
-- fixed weights keeps a traffic ramp (e.g. 10% then 50%) from biasing the comparison through time trends.
with first_exposures as (

    select * from {{ ref('int_first_exposures') }}

),

phases as (

    select distinct
        experiment_id,
        allocation_phase,
        phase_start
    from {{ ref('stg_experiment_allocation_phases') }}

),

data_through as (

    select max(partition_date) as data_through_date from {{ ref('stg_events') }}

),

analysed_phases as (

    select
        phases.experiment_id,
        max(phases.allocation_phase) as analysed_phase
    from phases
    cross join data_through
    where phases.phase_start <= data_through.data_through_date
    group by phases.experiment_id

)

select
    first_exposures.experiment_id,
    first_exposures.user_id,
    first_exposures.unit_type,
    first_exposures.variant,
    first_exposures.first_exposed_at,
    first_exposures.exposure_date,
    first_exposures.allocation_phase
from first_exposures
inner join analysed_phases
    on first_exposures.experiment_id = analysed_phases.experiment_id
    and first_exposures.allocation_phase = analysed_phases.analysed_phase
where not first_exposures.is_multi_exposed
