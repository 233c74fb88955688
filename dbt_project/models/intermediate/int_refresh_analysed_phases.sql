{{ exptrack_require_built_together() }}
-- The analysed phases (int_experiment_analysed_phases) the exposure-side incremental models were last brought up to
-- date with; built after them, like int_refresh_state: int_refresh_exposure_experiments compares the current phases
-- with these.
-- depends_on: {{ ref('int_assignments') }}
-- depends_on: {{ ref('int_unit_attributes') }}
-- depends_on: {{ ref('int_refresh_assignments') }}
select
    experiment_id,
    analysed_phase
from {{ ref('int_experiment_analysed_phases') }}
