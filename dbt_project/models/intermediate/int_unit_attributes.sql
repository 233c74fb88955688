{{
    config(
        materialized='incremental',
        incremental_strategy=exptrack_incremental_strategy(),
        pre_hook=[
            "{{ exptrack_log_attribute_scope(-1) }}",
            "{{ exptrack_delete_exposure_scope('exposure_unit') }}",
        ],
        post_hook="{{ exptrack_log_attribute_scope(1) }}",
    )
}}
-- The hooks also log the segment contributions of the scope's units, before and after, into
-- int_segment_value_changes (macros/exptrack_value_changes.sql).
-- depends_on: {{ ref('int_segment_value_changes') }}
-- depends_on: {{ ref('int_refresh_scope') }}
-- depends_on: {{ ref('int_refresh_exposure_units') }}
-- depends_on: {{ ref('int_refresh_exposure_experiments') }}
-- Attributes of each analysed unit (platform, country, is_new_user, ...) as sent with its first exposure.
-- Incremental per unit (scope exposure_unit): the loader writes a day's attributes with its exposures, so a unit whose
-- attributes changed had an exposure partition change too.
with assignments as (

    select assignments.*
    from {{ ref('int_assignments') }} as assignments
    {% if is_incremental() %}
        where {{ exptrack_in_exposure_scope('exposure_unit', 'assignments') }}
    {% endif %}

),

attributes as (

    select attributes.*
    from {{ ref('stg_exposure_attributes') }} as attributes
    {% if is_incremental() %}
        where {{ exptrack_in_exposure_scope('exposure_unit', 'attributes') }}
    {% endif %}

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
