with source as (

    select * from {{ source('registry', 'metric_events') }}

),

renamed as (

    select
        metric_id,
        metric_part,
        event_name,
        aggregation
    from source

)

select * from renamed
