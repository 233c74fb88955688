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
-- The analysed units: users with exactly one variant in the experiment, first exposed during its analysed
-- allocation phase — the latest phase that has started by the data's last day. Restricting to one phase with
-- fixed weights keeps a traffic ramp (e.g. 10% then 50%) from biasing the comparison through time trends.
-- Incremental per unit (scope exposure_unit): an experiment whose analysed phase moved is rebuilt whole.
with first_exposures as (

    select first_exposures.*
    from {{ ref('int_first_exposures') }} as first_exposures
    {% if is_incremental() %}
        where {{ exptrack_in_exposure_scope('exposure_unit', 'first_exposures') }}
    {% endif %}

),

analysed_phases as (

    select * from {{ ref('int_experiment_analysed_phases') }}

)

select
    first_exposures.experiment_id,
    first_exposures.user_id,
    first_exposures.unit_type,
    first_exposures.variant,
    first_exposures.first_exposed_at,
    first_exposures.exposure_date,
    first_exposures.allocation_phase
from first_exposures
inner join analysed_phases
    on first_exposures.experiment_id = analysed_phases.experiment_id
    and first_exposures.allocation_phase = analysed_phases.analysed_phase
where not first_exposures.is_multi_exposed
