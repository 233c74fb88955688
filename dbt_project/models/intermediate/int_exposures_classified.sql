{{
    config(
        materialized='incremental',
        incremental_strategy=exptrack_incremental_strategy(),
        pre_hook="{{ exptrack_delete_exposure_scope('exposure_row') }}",
    )
}}
-- depends_on: {{ ref('int_refresh_scope') }}
-- depends_on: {{ ref('int_refresh_replaced_exposure_units') }}
-- Every exposure row with the reason it cannot be analysed (null when it can). user_id is the id of the
-- experiment's randomization unit (unit_type: user_id, anonymous_id or device_id; int_exposure_units).
-- Incremental per exposure row like int_exposure_units (scope exposure_row); the units of the partitions it replaces
-- are read first (int_refresh_replaced_exposure_units).
with exposures as (

    select exposure_units.*
    from {{ ref('int_exposure_units') }} as exposure_units
    {% if is_incremental() %}
        where {{ exptrack_in_exposure_scope('exposure_row', 'exposure_units') }}
    {% endif %}

),

experiments as (

    select * from {{ ref('stg_experiments') }}

),

variants as (

    select * from {{ ref('stg_experiment_variants') }}

),

classified as (

    select
        exposures.experiment_id,
        exposures.unit_id as user_id,
        exposures.unit_type,
        exposures.variant,
        exposures.exposed_at,
        exposures.exposure_date,
        exposures.partition_date,
        case
            when experiments.experiment_id is null then 'unknown_experiment'
            when variants.variant is null then 'unknown_variant'
            when exposures.unit_id is null then 'missing_unit_id'
            when exposures.exposure_date < experiments.start_date then 'before_start'
            when exposures.exposure_date > experiments.end_date then 'after_end'
        end as exclusion_reason
    from exposures
    left join experiments
        on exposures.experiment_id = experiments.experiment_id
    left join variants
        on exposures.experiment_id = variants.experiment_id
        and exposures.variant = variants.variant

)

select * from classified
