-- Analysed units whose assignment changed since the incremental models were last brought up to date (first
-- exposure moved, variant changed or became several, entered or left the analysed phase, a new unit): every row of
-- theirs in the unit-level incremental models is rebuilt. Without a previous state every unit is new
-- (int_refresh_scope then rebuilds everything anyway). Only the units of the exposure-side scope (exposure_unit:
-- int_refresh_exposure_units, int_refresh_exposure_experiments) are compared: int_assignments rebuilt no other.
-- depends_on: {{ ref('int_refresh_scope') }}
-- depends_on: {{ ref('int_refresh_exposure_units') }}
-- depends_on: {{ ref('int_refresh_exposure_experiments') }}
{% set previous = adapter.get_relation(
    database=this.database, schema=this.schema, identifier='int_refresh_assignments'
) if execute else none %}

with current_units as (

    select assignments.*
    from {{ ref('int_assignments') }} as assignments
    where {{ exptrack_in_exposure_scope('exposure_unit', 'assignments') }}

),

previous_units as (

    {% if previous is none %}
        select * from current_units
        where 1 = 0
    {% else %}
        select previous_rows.*
        from {{ previous }} as previous_rows
        where {{ exptrack_in_exposure_scope('exposure_unit', 'previous_rows') }}
    {% endif %}

)

select
    coalesce(current_units.experiment_id, previous_units.experiment_id) as experiment_id,
    coalesce(current_units.user_id, previous_units.user_id) as user_id,
    coalesce(current_units.unit_type, previous_units.unit_type) as unit_type,
    -- the earliest day the change touches: the earlier of the old and new exposure dates
    case
        when previous_units.first_exposed_at is null then cast(current_units.first_exposed_at as date)
        when current_units.first_exposed_at is null then cast(previous_units.first_exposed_at as date)
        when current_units.first_exposed_at < previous_units.first_exposed_at
            then cast(current_units.first_exposed_at as date)
        else cast(previous_units.first_exposed_at as date)
    end as since_date
from current_units
full outer join previous_units
    on current_units.experiment_id = previous_units.experiment_id
    and current_units.user_id = previous_units.user_id
where current_units.user_id is null
    or previous_units.user_id is null
    or current_units.unit_type <> previous_units.unit_type
    or current_units.variant <> previous_units.variant
    or current_units.first_exposed_at <> previous_units.first_exposed_at
