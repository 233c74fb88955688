-- CUPED covariate per experiment, metric and unit: the same metric over cuped_lookback_days before first exposure
-- (0/1 for proportion metrics, the numerator amount otherwise) and, for ratio metrics, the pre-period denominator w
-- (CUPED on ratios adjusts with Σx/Σw). Units without pre-period events have no row (x = w = 0).
with amounts as (

    select * from {{ ref('int_metric_event_amounts') }}
    where metric_part in ('numerator', 'denominator')

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
        metrics.stat_kind,
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
    group by assignments.experiment_id, amounts.metric_id, assignments.user_id, metrics.stat_kind

)

select
    experiment_id,
    metric_id,
    user_id,
    case
        when stat_kind = 'proportion' then case when pre_amount > 0 then 1.0 else 0.0 end
        else pre_amount
    end as covariate,
    pre_denominator as covariate_den
from pre_period
