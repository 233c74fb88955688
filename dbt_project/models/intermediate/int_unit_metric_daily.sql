-- Per experiment, metric, analysed unit and day: what the unit's events added to the metric after exposure
-- (int_unit_metric_daily_by_partition, the incremental table, summed over the events' partitions).
with by_partition as (

    select * from {{ ref('int_unit_metric_daily_by_partition') }}

)

select
    experiment_id,
    metric_id,
    variant,
    user_id,
    activity_date,
    sum(numerator_amount) as numerator_amount,
    sum(denominator_amount) as denominator_amount
from by_partition
group by experiment_id, metric_id, variant, user_id, activity_date
