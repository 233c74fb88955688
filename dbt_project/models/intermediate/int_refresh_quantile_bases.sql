-- depends_on: {{ ref('int_refresh_scope') }}
-- depends_on: {{ ref('int_refresh_metric_dates') }}
-- depends_on: {{ ref('int_refresh_analysis_dates') }}

-- Per experiment × quantile metric with analysis dates in this run's quantile scope
-- (macros/exptrack_quantile_scope.sql): its first scoped date and base_date, the latest analysis date before it (null
-- when there is none). A date outside the scope keeps its rows in int_quantile_observations, equal to a full
-- refresh's, so the observations through a scoped date d are those of base_date and what came after it: the events
-- dated in (base_date, d] (granularity event), or each unit's total at base_date plus its unit-days in
-- (base_date, d] (granularity unit). int_quantile_observations copies the base date's rows and reads only the events
-- and unit-days after it (macros/exptrack_quantile_bases.sql): a quiet day reads the new day, not history.
with experiment_metrics as (

    select * from {{ ref('stg_experiment_metrics') }}

),

metrics as (

    select * from {{ ref('stg_metrics') }}

),

analysis_dates as (

    select * from {{ ref('int_experiment_analysis_dates') }}

),

quantile_dates as (

    select
        experiment_metrics.experiment_id,
        metrics.metric_id,
        analysis_dates.analysis_date
    from experiment_metrics
    inner join metrics
        on experiment_metrics.metric_id = metrics.metric_id
    inner join analysis_dates
        on experiment_metrics.experiment_id = analysis_dates.experiment_id
    where metrics.metric_kind = 'quantile'

),

scoped as (

    select
        quantile_dates.experiment_id,
        quantile_dates.metric_id,
        min(quantile_dates.analysis_date) as first_scoped_date
    from quantile_dates
    where {{ exptrack_in_quantile_scope('quantile_dates') }}
    group by quantile_dates.experiment_id, quantile_dates.metric_id

)

select
    scoped.experiment_id,
    scoped.metric_id,
    scoped.first_scoped_date,
    max(quantile_dates.analysis_date) as base_date
from scoped
left join quantile_dates
    on scoped.experiment_id = quantile_dates.experiment_id
    and scoped.metric_id = quantile_dates.metric_id
    and scoped.first_scoped_date > quantile_dates.analysis_date
group by scoped.experiment_id, scoped.metric_id, scoped.first_scoped_date
