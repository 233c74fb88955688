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

-- Per experiment, metric, analysed unit and event partition: the numerator amount (and, for ratio metrics, the
-- denominator amount) of the unit's events over cuped_lookback_days before its first exposure (the CUPED pre-period;
-- int_unit_metric_covariates sums the partitions). Incremental like int_unit_metric_daily_by_partition (the same
-- refresh scope).
with amounts as (

    select scoped_amounts.*
    from ({{ exptrack_amounts_in_refresh_scope(before_exposure=true) }}) as scoped_amounts
    where scoped_amounts.metric_part in ('numerator', 'denominator')

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

pre_period as (

    select
        assignments.experiment_id,
        amounts.metric_id,
        assignments.user_id,
        amounts.partition_date,
        sum(case when amounts.metric_part = 'numerator' then amounts.amount else 0 end) as pre_amount,
        sum(case when amounts.metric_part = 'denominator' then amounts.amount else 0 end) as pre_denominator
    from amounts
    inner join experiment_metrics
        on amounts.metric_id = experiment_metrics.metric_id
    inner join assignments
        on experiment_metrics.experiment_id = assignments.experiment_id
        and amounts.user_id = assignments.user_id
        and amounts.unit_type = assignments.unit_type
    inner join metrics
        on amounts.metric_id = metrics.metric_id
    where metrics.cuped_lookback_days > 0
        and amounts.occurred_at < assignments.first_exposed_at
        and amounts.occurred_at
        >= {{ dbt.dateadd('day', '-1 * metrics.cuped_lookback_days', 'assignments.first_exposed_at') }}
    group by assignments.experiment_id, amounts.metric_id, assignments.user_id, amounts.partition_date

)

select
    experiment_id,
    metric_id,
    user_id,
    partition_date,
    pre_amount,
    pre_denominator
from pre_period
{% if is_incremental() %}
    where {{ exptrack_in_refresh_scope('unit_metric', 'pre_period') }}
{% endif %}
