-- The units (experiment × unit id) whose rows the exposure-side incremental models rebuild this run (scope
-- exposure_unit, macros/exptrack_exposure_scope.sql), each recomputed from all its exposures: the units with a row
-- in a changed exposure partition, before (int_refresh_replaced_exposure_units) or after this run's rebuild of
-- int_exposures_classified — a new day's units, late exposures moving a first exposure earlier, a unit seen in a
-- second variant, a re-sent day. Changed experiments are rebuilt whole (int_refresh_exposure_experiments); scope all
-- rebuilds everything, and this table is then empty.
-- depends_on: {{ ref('int_refresh_scope') }}
{%- set rebuild_all, partitions = exptrack_changed_exposure_partitions() %}

with changed as (

    select
        experiment_id,
        user_id
    from {{ ref('int_refresh_replaced_exposure_units') }}
    {% if partitions %}
        union all
        select
            experiment_id,
            user_id
        from {{ ref('int_exposures_classified') }}
        where partition_date in ({{ exptrack_date_literals(partitions) }})
            and user_id is not null
    {% endif %}

)

select distinct
    experiment_id,
    user_id
from changed
where {{ "false" if rebuild_all else "true" }}
-- depends_on: {{ ref('int_exposures_classified') }}
