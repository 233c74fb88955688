-- Attributes of each analysed unit (platform, country, is_new_user, ...) as sent with its first exposure.
with assignments as (

    select * from {{ ref('int_assignments') }}

),

attributes as (

    select * from {{ ref('stg_exposure_attributes') }}

)

select distinct
    assignments.experiment_id,
    assignments.user_id,
    assignments.variant,
    attributes.attribute,
    attributes.attribute_value
from assignments
inner join attributes
    on assignments.experiment_id = attributes.experiment_id
    and assignments.user_id = attributes.user_id
    and assignments.first_exposed_at = attributes.exposed_at
where attributes.attribute_value is not null
