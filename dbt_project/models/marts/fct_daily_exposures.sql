-- New analysed units per experiment, variant and exposure date, with the running total and the design weight.
with assignments as (

    select * from {{ ref('int_assignments') }}

),

variants as (

    select * from {{ ref('stg_experiment_variants') }}

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
    from assignments
    group by experiment_id, variant, exposure_date

),

grid as (

    select
        analysis_dates.experiment_id,
        variants.variant,
        variants.weight as design_weight,
        analysis_dates.analysis_date as exposure_date
    from analysis_dates
    inner join variants
        on analysis_dates.experiment_id = variants.experiment_id

)

select
    grid.experiment_id,
    grid.variant,
    grid.exposure_date,
    grid.design_weight,
    coalesce(daily.new_units, 0) as new_units,
    sum(coalesce(daily.new_units, 0)) over (
        partition by grid.experiment_id, grid.variant
        order by grid.exposure_date
        rows between unbounded preceding and current row
    ) as cumulative_units
from grid
left join daily
    on grid.experiment_id = daily.experiment_id
    and grid.variant = daily.variant
    and grid.exposure_date = daily.exposure_date
