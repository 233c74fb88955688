with source as (

    select * from {{ source('registry', 'metrics') }}

),

renamed as (

    select
        metric_id,
        metric_name,
        metric_kind,
        stat_kind,
        cast(window_days as integer) as window_days,
        cast(retention_day as integer) as retention_day,
        direction,
        cap_method,
        cast(cap_value as {{ exptrack_type_double() }}) as cap_value,
        cast(cuped_lookback_days as integer) as cuped_lookback_days,
        cast(quantile as {{ exptrack_type_double() }}) as quantile_level,
        cast(quantile_granularity as {{ dbt.type_string() }}) as quantile_granularity
    from source

)

select * from renamed
