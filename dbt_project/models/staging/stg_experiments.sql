with source as (

    select * from {{ source('registry', 'experiments') }}

),

renamed as (

    select
        experiment_id,
        experiment_name,
        status,
        owner,
        pm,
        slack_channel,
        surface,
        audience,
        layer,
        cast(start_date as date) as start_date,
        cast(end_date as date) as end_date,
        control_variant,
        primary_metric_id,
        cast(alpha as {{ exptrack_type_double() }}) as alpha,
        cast(target_power as {{ exptrack_type_double() }}) as target_power,
        cast(minimum_detectable_effect as {{ exptrack_type_double() }}) as minimum_detectable_effect,
        mde_type,
        unit
    from source

)

select * from renamed
