-- Exposure rows that match nothing in the registry, per logged experiment id × variant × day: an experiment id that
-- is not registered (unknown_experiment) or a variant the experiment does not have (unknown_variant). They are
-- excluded from every analysis; monitoring turns them into health findings and `exptrack summary` lists them, so they
-- are never silent.
with classified as (

    select * from {{ ref('int_exposures_classified') }}

),

unmatched as (

    select
        experiment_id,
        variant,
        exclusion_reason,
        exposure_date,
        user_id
    from classified
    where exclusion_reason in ('unknown_experiment', 'unknown_variant')

)

select
    experiment_id,
    variant,
    exclusion_reason,
    exposure_date,
    cast(count(*) as {{ dbt.type_bigint() }}) as exposure_rows,
    cast(count(distinct user_id) as {{ dbt.type_bigint() }}) as units
from unmatched
group by experiment_id, variant, exclusion_reason, exposure_date
