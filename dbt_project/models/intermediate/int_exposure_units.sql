{{
    config(
        materialized='incremental',
        incremental_strategy=exptrack_incremental_strategy(),
        pre_hook="{{ exptrack_delete_exposure_scope('exposure_row') }}",
    )
}}
-- depends_on: {{ ref('int_refresh_scope') }}
-- Every exposure row with its experiment's randomization unit and the unit's id: the row's own id of that kind,
-- else the id the identity map resolves from another id the row carries (int_identity_map's first-link rule).
-- unit_id is null when neither gives one (the row is then excluded as missing_unit_id).
-- Incremental: a run rebuilds the rows of the changed exposure partitions and experiments (scope exposure_row,
-- macros/exptrack_exposure_scope.sql); the identity map changing rebuilds everything.
with exposures as (

    select exposures.*
    from {{ ref('stg_exposures') }} as exposures
    {% if is_incremental() %}
        where {{ exptrack_in_exposure_scope('exposure_row', 'exposures') }}
    {% endif %}

),

experiments as (

    select
        experiment_id,
        unit
    from {{ ref('stg_experiments') }}

),

identity_map as (

    select * from {{ ref('int_identity_map') }}

)

select
    exposures.*,
    coalesce(experiments.unit, 'user_id') as unit_type,
    case coalesce(experiments.unit, 'user_id')
        when 'anonymous_id' then coalesce(exposures.anonymous_id, user_anonymous.id_value)
        when 'device_id' then coalesce(exposures.device_id, user_device.id_value)
        else coalesce(exposures.user_id, anonymous_user.user_id, device_user.user_id)
    end as unit_id
from exposures
left join experiments
    on exposures.experiment_id = experiments.experiment_id
{{ exptrack_identity_map_joins('exposures') }}
