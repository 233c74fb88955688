{{
    config(
        materialized='incremental',
        incremental_strategy=exptrack_incremental_strategy(),
        pre_hook="{{ exptrack_delete_exposure_scope('exposure_unit') }}",
    )
}}
-- depends_on: {{ ref('int_refresh_scope') }}
-- depends_on: {{ ref('int_refresh_exposure_units') }}
-- depends_on: {{ ref('int_refresh_exposure_experiments') }}
-- One row per experiment and user: the first valid exposure, how many variants the user saw,
-- and the allocation phase (traffic weights) in force on the first exposure's date.
-- Incremental per unit: a run recomputes the units of int_refresh_exposure_units and int_refresh_exposure_experiments
-- (scope exposure_unit) from all their exposures, so a first exposure moving earlier or a second variant is exact.
with valid_exposures as (

    select classified.*
    from {{ ref('int_exposures_classified') }} as classified
    where classified.exclusion_reason is null
    {% if is_incremental() %}
        and {{ exptrack_in_exposure_scope('exposure_unit', 'classified') }}
    {% endif %}

),

phases as (

    select distinct
        experiment_id,
        allocation_phase,
        phase_start,
        phase_end
    from {{ ref('stg_experiment_allocation_phases') }}

),

per_user as (

    select
        experiment_id,
        user_id,
        min(unit_type) as unit_type,
        min(exposed_at) as first_exposed_at,
        count(*) as exposure_count,
        count(distinct variant) as variant_count,
        min(variant) as first_variant_name
    from valid_exposures
    group by experiment_id, user_id

)

select
    per_user.experiment_id,
    per_user.user_id,
    per_user.unit_type,
    per_user.first_exposed_at,
    cast(per_user.first_exposed_at as date) as exposure_date,
    phases.allocation_phase,
    per_user.exposure_count,
    per_user.variant_count,
    per_user.variant_count > 1 as is_multi_exposed,
    case when per_user.variant_count = 1 then per_user.first_variant_name end as variant
from per_user
left join phases
    on per_user.experiment_id = phases.experiment_id
    and cast(per_user.first_exposed_at as date) between phases.phase_start and phases.phase_end
