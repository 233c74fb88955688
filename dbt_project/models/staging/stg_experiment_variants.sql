with source as (

    select * from {{ source('registry', 'experiment_variants') }}

),

renamed as (

    select
        experiment_id,
        variant,
        cast(weight as {{ exptrack_type_double() }}) as weight,
        is_control
    from source

)

select * from renamed
