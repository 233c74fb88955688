-- Winsorisation ceiling per experiment and metric: the fixed cap, or the nearest-rank percentile
-- (percentile_disc) of per-unit totals among units with any qualifying event.
with daily as (

    select * from {{ ref('int_unit_metric_daily') }}

),

metrics as (

    select * from {{ ref('stg_metrics') }}
    where cap_method is not null

),

unit_totals as (

    select
        daily.experiment_id,
        daily.metric_id,
        daily.user_id,
        sum(daily.numerator_amount) as unit_total
    from daily
    inner join metrics
        on daily.metric_id = metrics.metric_id
    where metrics.cap_method = 'percentile'
    group by daily.experiment_id, daily.metric_id, daily.user_id

),

ranked as (

    select
        unit_totals.experiment_id,
        unit_totals.metric_id,
        unit_totals.unit_total,
        metrics.cap_value,
        row_number() over (
            partition by unit_totals.experiment_id, unit_totals.metric_id
            order by unit_totals.unit_total
        ) as value_rank,
        count(*) over (partition by unit_totals.experiment_id, unit_totals.metric_id) as unit_count
    from unit_totals
    inner join metrics
        on unit_totals.metric_id = metrics.metric_id

),

percentile_caps as (

    select
        experiment_id,
        metric_id,
        min(unit_total) as cap
    from ranked
    where value_rank >= ceil(cap_value * unit_count)
    group by experiment_id, metric_id

),

fixed_caps as (

    select
        experiment_metrics.experiment_id,
        experiment_metrics.metric_id,
        metrics.cap_value as cap
    from {{ ref('stg_experiment_metrics') }} as experiment_metrics
    inner join metrics
        on experiment_metrics.metric_id = metrics.metric_id
    where metrics.cap_method = 'fixed'

)

select
    experiment_id,
    metric_id,
    cap
from percentile_caps
union all
select
    experiment_id,
    metric_id,
    cap
from fixed_caps
