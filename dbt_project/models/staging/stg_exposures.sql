with source as (

    select * from {{ source('raw', 'exposures') }}

),

renamed as (

    select
        cast(user_id as {{ dbt.type_string() }}) as user_id,
        cast(anonymous_id as {{ dbt.type_string() }}) as anonymous_id,
        cast(device_id as {{ dbt.type_string() }}) as device_id,
        cast(experiment_id as {{ dbt.type_string() }}) as experiment_id,
        cast(variant as {{ dbt.type_string() }}) as variant,
        cast(exposed_at as {{ dbt.type_timestamp() }}) as exposed_at,
        cast(exposed_at as date) as exposure_date,
        cast(partition_date as date) as partition_date,
        source_file,
        source_row,
        source as load_source
    from source

)

select * from renamed
