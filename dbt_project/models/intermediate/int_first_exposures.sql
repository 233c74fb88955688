-- One row per experiment and user: the first valid exposure, and how many variants the user saw.
with valid_exposures as (

    select * from {{ ref('int_exposures_classified') }}
    where exclusion_reason is null

),

per_user as (

    select
        experiment_id,
        user_id,
        min(exposed_at) as first_exposed_at,
        count(*) as exposure_count,
        count(distinct variant) as variant_count,
        min(variant) as first_variant_name
    from valid_exposures
    group by experiment_id, user_id

)

select
    experiment_id,
    user_id,
    first_exposed_at,
    cast(first_exposed_at as date) as exposure_date,
    exposure_count,
    variant_count,
    variant_count > 1 as is_multi_exposed,
    case when variant_count = 1 then first_variant_name end as variant
from per_user
