-- Each analysed unit's metric value as of its experiment's last analysis date: y (capped, or 0/1), the ratio
-- denominator d and the CUPED covariate x. Units with no qualifying event have y = d = 0. Retention Dn units
-- count only once they are n days past exposure.
with assignments as (

    select * from {{ ref('int_assignments') }}

),

experiment_metrics as (

    select * from {{ ref('stg_experiment_metrics') }}

),

metrics as (

    select * from {{ ref('stg_metrics') }}

),

last_dates as (

    select * from {{ ref('int_experiment_last_analysis_dates') }}

),

daily as (

    select * from {{ ref('int_unit_metric_daily') }}

),

caps as (

    select * from {{ ref('int_metric_caps') }}

),

covariates as (

    select * from {{ ref('int_unit_metric_covariates') }}

),

eligible_units as (

    select
        assignments.experiment_id,
        experiment_metrics.metric_id,
        assignments.variant,
        assignments.user_id,
        metrics.stat_kind,
        last_dates.last_analysis_date
    from assignments
    inner join experiment_metrics
        on assignments.experiment_id = experiment_metrics.experiment_id
    inner join metrics
        on experiment_metrics.metric_id = metrics.metric_id
    inner join last_dates
        on assignments.experiment_id = last_dates.experiment_id
    where
        case
            when metrics.metric_kind = 'retention'
                then cast({{ dbt.dateadd('day', 'metrics.retention_day', 'assignments.exposure_date') }} as date)
            else assignments.exposure_date
        end <= last_dates.last_analysis_date

),

totals as (

    -- Performance: sum the sparse unit-days first, then attach them to the (many more) eligible units once below;
    -- int_unit_metric_daily only holds analysed units of the experiment's metrics, so no eligibility join is needed
    -- here.
    select
        daily.experiment_id,
        daily.metric_id,
        daily.user_id,
        sum(daily.numerator_amount) as numerator_total,
        sum(daily.denominator_amount) as denominator_total
    from daily
    inner join last_dates
        on daily.experiment_id = last_dates.experiment_id
    where daily.activity_date <= last_dates.last_analysis_date
    group by daily.experiment_id, daily.metric_id, daily.user_id

)

select
    eligible_units.experiment_id,
    eligible_units.metric_id,
    eligible_units.variant,
    eligible_units.user_id,
    {{ exptrack_unit_value('coalesce(totals.numerator_total, 0)', 'eligible_units.stat_kind', 'caps.cap') }}
        as metric_value,
    coalesce(totals.denominator_total, 0) as denominator_value,
    coalesce(covariates.covariate, 0) as covariate
from eligible_units
left join totals
    on eligible_units.experiment_id = totals.experiment_id
    and eligible_units.metric_id = totals.metric_id
    and eligible_units.user_id = totals.user_id
left join caps
    on eligible_units.experiment_id = caps.experiment_id
    and eligible_units.metric_id = caps.metric_id
left join covariates
    on eligible_units.experiment_id = covariates.experiment_id
    and eligible_units.metric_id = covariates.metric_id
    and eligible_units.user_id = covariates.user_id
