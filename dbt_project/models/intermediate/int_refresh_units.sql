-- The (experiment, metric, unit) triples whose rows this run rebuilds in the unit-level incremental models that sum
-- the partition tables (int_unit_metric_daily, int_unit_metric_covariates), with the earliest day the change
-- touches (since_date; int_refresh_metric_dates takes the minimum per experiment and metric for the daily deltas):
-- the units whose rows of a changed partition were replaced (before: int_refresh_replaced_units; after: the rebuilt
-- partitions), and every metric of a unit whose assignment changed. Changed metrics and experiments are rebuilt
-- whole (macros/exptrack_refresh_scope.sql); scope all rebuilds everything, and this table is then empty.
-- depends_on: {{ ref('int_refresh_scope') }}
-- depends_on: {{ ref('int_unit_metric_daily_by_partition') }}
-- depends_on: {{ ref('int_unit_metric_pre_period') }}
{%- set rebuild_all, since = exptrack_refresh_since() %}

with assignments as (

    select * from {{ ref('int_assignments') }}

),

changed as (

    select * from {{ ref('int_refresh_replaced_units') }}
    {% if since is not none %}
        union all
        select
            experiment_id,
            metric_id,
            user_id,
            activity_date as since_date
        from {{ ref('int_unit_metric_daily_by_partition') }}
        where partition_date >= cast('{{ since }}' as date)
        union all
        select
            pre_period.experiment_id,
            pre_period.metric_id,
            pre_period.user_id,
            assignments.exposure_date as since_date
        from {{ ref('int_unit_metric_pre_period') }} as pre_period
        inner join assignments
            on pre_period.experiment_id = assignments.experiment_id
            and pre_period.user_id = assignments.user_id
        where pre_period.partition_date >= cast('{{ since }}' as date)
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
