{{
    config(
        materialized='incremental',
        incremental_strategy=exptrack_incremental_strategy(),
        pre_hook="{{ exptrack_delete_refresh_scope('unit_metric') }}",
    )
}}
-- depends_on: {{ ref('int_refresh_scope') }}
-- depends_on: {{ ref('int_assignment_changes') }}
-- depends_on: {{ ref('int_refresh_replaced_units') }}

-- Per experiment, metric, analysed unit, day and event partition: what the unit's events of that partition added to
-- the metric after exposure (int_unit_metric_daily sums the partitions).
-- Conversion, adoption and mean metrics count events in [first exposure, first exposure + window_days);
-- retention Dn counts events on the calendar day exposure_date + n.
-- Incremental: a run rebuilds its refresh scope (macros/exptrack_refresh_scope.sql): the changed partitions on,
-- the changed metrics and experiments, the units whose assignment changed; every other row's inputs are unchanged.
with amounts as (

    {{ exptrack_amounts_in_refresh_scope() }}

),

assignments as (

    select * from {{ ref('int_assignments') }}

),

experiment_metrics as (

    select * from {{ ref('stg_experiment_metrics') }}

),

metrics as (

    select * from {{ ref('stg_metrics') }}

),

attributed as (

    select
        assignments.experiment_id,
        amounts.metric_id,
        assignments.variant,
        assignments.user_id,
        amounts.event_date as activity_date,
        amounts.partition_date,
        amounts.metric_part,
        amounts.amount
    from amounts
    inner join experiment_metrics
        on amounts.metric_id = experiment_metrics.metric_id
    inner join assignments
        on experiment_metrics.experiment_id = assignments.experiment_id
        and amounts.user_id = assignments.user_id
        and amounts.unit_type = assignments.unit_type
    inner join metrics
        on amounts.metric_id = metrics.metric_id
    where
        (
            metrics.metric_kind = 'retention'
            and amounts.event_date
            = cast({{ dbt.dateadd('day', 'metrics.retention_day', 'assignments.exposure_date') }} as date)
        )
        or (
            metrics.metric_kind <> 'retention'
            and amounts.occurred_at >= assignments.first_exposed_at
            and amounts.occurred_at < {{ dbt.dateadd('day', 'metrics.window_days', 'assignments.first_exposed_at') }}
        )

)

select
    experiment_id,
    metric_id,
    variant,
    user_id,
    activity_date,
    partition_date,
    sum(case when metric_part = 'numerator' then amount else 0 end) as numerator_amount,
    sum(case when metric_part = 'denominator' then amount else 0 end) as denominator_amount
from attributed
{% if is_incremental() %}
    where {{ exptrack_in_refresh_scope('unit_metric', 'attributed') }}
{% endif %}
group by experiment_id, metric_id, variant, user_id, activity_date, partition_date
