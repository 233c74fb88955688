with source as (

    select * from {{ source('raw', 'events') }}

),

renamed as (

    select
        cast(event_id as {{ dbt.type_string() }}) as event_id,
        cast(user_id as {{ dbt.type_string() }}) as user_id,
        cast(anonymous_id as {{ dbt.type_string() }}) as anonymous_id,
        cast(device_id as {{ dbt.type_string() }}) as device_id,
        cast(event_name as {{ dbt.type_string() }}) as event_name,
        cast(occurred_at as {{ dbt.type_timestamp() }}) as occurred_at,
        cast(occurred_at as date) as event_date,
        cast(value as {{ exptrack_type_double() }}) as event_value,
        cast(session_id as {{ dbt.type_string() }}) as session_id,
        cast(partition_date as date) as partition_date,
        source_file,
        source_row
    from source

)

select * from renamed
