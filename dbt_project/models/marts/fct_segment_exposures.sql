-- Analysed units per experiment, variant and segment (attribute value of the first exposure), for SRM per segment.
with unit_attributes as (

    select * from {{ ref('int_unit_attributes') }}

),

variants as (

    select * from {{ ref('stg_experiment_variants') }}

),

counted as (

    select
        experiment_id,
        variant,
        attribute,
        attribute_value,
        count(*) as units
    from unit_attributes
    group by experiment_id, variant, attribute, attribute_value

)

select
    counted.experiment_id,
    counted.variant,
    variants.weight as design_weight,
    counted.attribute,
    counted.attribute_value,
    counted.units
from counted
inner join variants
    on counted.experiment_id = variants.experiment_id
    and counted.variant = variants.variant
