with source as (

    select * from {{ source('registry', 'experiment_allocation_phases') }}

),

renamed as (

    select
        experiment_id,
        cast(allocation_phase as integer) as allocation_phase,
        cast(phase_start as date) as phase_start,
        cast(phase_end as date) as phase_end,
        variant,
        cast(weight as {{ exptrack_type_double() }}) as weight
    from source

)

select * from renamed
