-- Per experiment: units exposed, units seen in more than one variant (excluded), and exposure rows excluded by reason.
with first_exposures as (

    select * from {{ ref('int_first_exposures') }}

),

classified as (

    select * from {{ ref('int_exposures_classified') }}

),

experiments as (

    select * from {{ ref('stg_experiments') }}

),

units as (

    select
        experiment_id,
        count(*) as exposed_units,
        sum(case when is_multi_exposed then 1 else 0 end) as multi_exposed_units
    from first_exposures
    group by experiment_id

),

excluded_rows as (

    select
        experiment_id,
        sum(case when exclusion_reason = 'unknown_variant' then 1 else 0 end) as unknown_variant_rows,
        sum(case when exclusion_reason = 'before_start' then 1 else 0 end) as before_start_rows,
        sum(case when exclusion_reason = 'after_end' then 1 else 0 end) as after_end_rows,
        sum(case when exclusion_reason = 'missing_unit_id' then 1 else 0 end) as missing_unit_id_rows
    from classified
    group by experiment_id

),

-- identity-map ambiguity among exposed units (the first-link rule of int_identity_map decides; here it is counted)
unit_links as (

    select
        first_exposures.experiment_id,
        first_exposures.user_id,
        first_exposures.unit_type,
        identity_map.users_linked,
        identity_map.ids_linked
    from first_exposures
    inner join {{ ref('int_identity_map') }} as identity_map
        on first_exposures.unit_type = identity_map.id_type
        and first_exposures.user_id = identity_map.id_value
    union all
    select
        first_exposures.experiment_id,
        first_exposures.user_id,
        first_exposures.unit_type,
        identity_map.users_linked,
        1 as ids_linked
    from first_exposures
    inner join {{ ref('int_identity_map') }} as identity_map
        on first_exposures.unit_type = 'user_id'
        and first_exposures.user_id = identity_map.user_id

),

identity_conflicts as (

    select
        experiment_id,
        count(distinct case when users_linked > 1 then user_id end) as units_linked_to_several_users,
        count(distinct case when ids_linked > 1 then user_id end) as units_whose_user_has_several_ids
    from unit_links
    group by experiment_id

)

-- bigint casts: the contract's types on both engines (a sum of integers is HUGEINT on DuckDB)
select
    experiments.experiment_id,
    cast(coalesce(units.exposed_units, 0) as bigint) as exposed_units,
    cast(coalesce(units.multi_exposed_units, 0) as bigint) as multi_exposed_units,
    cast(coalesce(units.exposed_units, 0) - coalesce(units.multi_exposed_units, 0) as bigint) as analysed_units,
    case
        when coalesce(units.exposed_units, 0) = 0 then cast(0 as {{ exptrack_type_double() }})
        -- a double on every warehouse (1.0 * int / int is NUMERIC on PostgreSQL)
        else cast(units.multi_exposed_units as {{ exptrack_type_double() }}) / units.exposed_units
    end as multi_exposure_rate,
    cast(coalesce(excluded_rows.unknown_variant_rows, 0) as bigint) as unknown_variant_rows,
    cast(coalesce(excluded_rows.before_start_rows, 0) as bigint) as before_start_rows,
    cast(coalesce(excluded_rows.after_end_rows, 0) as bigint) as after_end_rows,
    cast(coalesce(excluded_rows.missing_unit_id_rows, 0) as bigint) as missing_unit_id_rows,
    cast(coalesce(identity_conflicts.units_linked_to_several_users, 0) as bigint) as units_linked_to_several_users,
    cast(coalesce(identity_conflicts.units_whose_user_has_several_ids, 0) as bigint)
        as units_whose_user_has_several_ids
from experiments
left join units
    on experiments.experiment_id = units.experiment_id
left join excluded_rows
    on experiments.experiment_id = excluded_rows.experiment_id
left join identity_conflicts
    on experiments.experiment_id = identity_conflicts.experiment_id
