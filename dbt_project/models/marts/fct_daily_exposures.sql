-- New single-variant units per experiment, variant and exposure date (every allocation phase), with the weight in
-- force that day and the units expected under it: SRM compares Σ new_units with Σ expected_units, so a ramp
-- (weights changing over time) raises no false alarm.
with first_exposures as (

    select * from {{ ref('int_first_exposures') }}
    where not is_multi_exposed

),

phases as (

    select
        *,
        max(allocation_phase) over (partition by experiment_id) as last_phase
    from {{ ref('stg_experiment_allocation_phases') }}

),

analysis_dates as (

    select * from {{ ref('int_experiment_analysis_dates') }}

),

daily as (

    select
        experiment_id,
        variant,
        exposure_date,
        count(*) as new_units
    from first_exposures
    group by experiment_id, variant, exposure_date

),

grid as (

    select
        analysis_dates.experiment_id,
        phases.variant,
        phases.allocation_phase,
        phases.weight as design_weight,
        analysis_dates.analysis_date as exposure_date
    from analysis_dates
    inner join phases
        on analysis_dates.experiment_id = phases.experiment_id
        and analysis_dates.analysis_date >= phases.phase_start
        and (analysis_dates.analysis_date <= phases.phase_end or phases.allocation_phase = phases.last_phase)

),

with_units as (

    select
        grid.experiment_id,
        grid.variant,
        grid.exposure_date,
        grid.allocation_phase,
        grid.design_weight,
        coalesce(daily.new_units, 0) as new_units
    from grid
    left join daily
        on grid.experiment_id = daily.experiment_id
        and grid.variant = daily.variant
        and grid.exposure_date = daily.exposure_date

),

with_expected as (

    select
        *,
        design_weight * sum(new_units) over (partition by experiment_id, exposure_date) as expected_units
    from with_units

)

-- the casts give both engines the contract's types (a sum of integers is HUGEINT on DuckDB, numeric on PostgreSQL)
select
    experiment_id,
    variant,
    exposure_date,
    cast(allocation_phase as integer) as allocation_phase,
    cast(design_weight as {{ exptrack_type_double() }}) as design_weight,
    cast(new_units as bigint) as new_units,
    cast(expected_units as {{ exptrack_type_double() }}) as expected_units,
    cast(sum(new_units) over (
        partition by experiment_id, variant
        order by exposure_date
        rows between unbounded preceding and current row
    ) as bigint) as cumulative_units,
    cast(sum(expected_units) over (
        partition by experiment_id, variant
        order by exposure_date
        rows between unbounded preceding and current row
    ) as {{ exptrack_type_double() }}) as cumulative_expected_units
from with_expected
