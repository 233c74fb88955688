with source as (

    select * from {{ source('registry', 'experiment_metrics') }}

),

renamed as (

    select
        experiment_id,
        metric_id,
        metric_role,
        cast(max_relative_harm as {{ exptrack_type_double() }}) as max_relative_harm
    from source

)

select * from renamed
