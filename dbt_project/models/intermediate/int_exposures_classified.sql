-- Every exposure row with the reason it cannot be analysed (null when it can). user_id is the id of the
-- experiment's randomization unit (unit_type: user_id, anonymous_id or device_id; int_exposure_units).
with exposures as (

    select * from {{ ref('int_exposure_units') }}

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
