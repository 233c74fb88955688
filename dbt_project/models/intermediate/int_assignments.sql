-- The analysed units: users with exactly one variant in the experiment.
with first_exposures as (

    select * from {{ ref('int_first_exposures') }}

)

select
    experiment_id,
    user_id,
    variant,
    first_exposed_at,
    exposure_date
from first_exposures
where not is_multi_exposed
