with source as (

    select * from {{ source('raw', 'exposure_attributes') }}

),

renamed as (

    select
        cast(user_id as {{ dbt.type_string() }}) as user_id,
        cast(experiment_id as {{ dbt.type_string() }}) as experiment_id,
        cast(exposed_at as {{ dbt.type_timestamp() }}) as exposed_at,
        -- `attribute` is a keyword, but it is the column's name in the raw contract and every model downstream
        cast(attribute as {{ dbt.type_string() }}) as attribute,  -- noqa: RF04
        cast(value as {{ dbt.type_string() }}) as attribute_value,
        cast(partition_date as date) as partition_date
    from source

)

select * from renamed
