-- Each experiment's analysis dates: from its start until its last metric window closes or the data ends.
with experiments as (

    select * from {{ ref('stg_experiments') }}

),

experiment_metrics as (

    select * from {{ ref('stg_experiment_metrics') }}

),

metrics as (

    select * from {{ ref('stg_metrics') }}

),

data_through as (

    select max(partition_date) as data_through_date
    from {{ ref('stg_events') }}

),

horizons as (

    select
        experiment_metrics.experiment_id,
        max(
            case
                when metrics.metric_kind = 'retention' then metrics.retention_day
                else metrics.window_days
            end
        ) as horizon_days
    from experiment_metrics
    inner join metrics
        on experiment_metrics.metric_id = metrics.metric_id
    group by experiment_metrics.experiment_id

),

day_offsets as (

    {{ exptrack_generate_series(var('max_analysis_days')) }}

),

candidate_dates as (

    select
        experiments.experiment_id,
        cast({{ dbt.dateadd('day', 'day_offsets.generated_number - 1', 'experiments.start_date') }} as date)
            as analysis_date,
        cast({{ dbt.dateadd('day', 'horizons.horizon_days', 'experiments.end_date') }} as date) as last_window_date,
        data_through.data_through_date
    from experiments
    inner join horizons
        on experiments.experiment_id = horizons.experiment_id
    cross join day_offsets
    cross join data_through

)

select
    experiment_id,
    analysis_date
from candidate_dates
where analysis_date <= last_window_date
    and analysis_date <= data_through_date
