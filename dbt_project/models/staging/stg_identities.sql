with source as (

    select * from {{ source('raw', 'identities') }}

),

renamed as (

    select
        cast(user_id as {{ dbt.type_string() }}) as user_id,
        cast(anonymous_id as {{ dbt.type_string() }}) as anonymous_id,
        cast(device_id as {{ dbt.type_string() }}) as device_id,
        cast(identified_at as {{ dbt.type_timestamp() }}) as identified_at,
        cast(partition_date as date) as partition_date,
        source_file,
        source_row,
        source as load_source
    from source

)

select * from renamed
