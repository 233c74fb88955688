-- The (experiment, metric, unit) triples whose rows this run rebuilds in the unit-level incremental models that sum
-- the partition tables (int_unit_metric_daily, int_unit_metric_covariates), with the earliest day the change
-- touches (since_date; int_refresh_metric_dates takes the minimum per experiment and metric for the daily deltas):
-- the units whose rows of a changed partition were replaced (before: int_refresh_replaced_units; after: the rebuilt
-- partitions), and every metric of a unit whose assignment changed. Changed metrics and experiments are rebuilt
-- whole (macros/exptrack_refresh_scope.sql); scope all rebuilds everything, and this table is then empty.
-- depends_on: {{ ref('int_refresh_scope') }}
-- depends_on: {{ ref('int_unit_metric_daily_by_partition') }}
-- depends_on: {{ ref('int_unit_metric_pre_period') }}
-- depends_on: {{ ref('int_assignments') }}
{%- set rebuild_all, since = exptrack_refresh_since() %}

with changed as (

    select * from {{ ref('int_refresh_replaced_units') }}
    {% if since is not none %}
        union all
        {{ exptrack_units_in_partitions(
            ref('int_unit_metric_daily_by_partition'), ref('int_unit_metric_pre_period'), since
        ) }}
    {% endif %}
    union all
    select
        changed_units.experiment_id,
        experiment_metrics.metric_id,
        changed_units.user_id,
        changed_units.since_date
    from {{ ref('int_assignment_changes') }} as changed_units
    inner join {{ ref('stg_experiment_metrics') }} as experiment_metrics
        on changed_units.experiment_id = experiment_metrics.experiment_id

)

select
    experiment_id,
    metric_id,
    user_id,
    min(since_date) as since_date
from changed
where {{ "false" if rebuild_all else "true" }}
group by experiment_id, metric_id, user_id
