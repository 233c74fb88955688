-- The cumulative statistics on each experiment's last analysis date equal the sums of the per-unit values:
-- the day-by-day delta construction in int_variant_metric_daily_deltas loses nothing.
-- It reads every analysed unit's value (a pass over all units, whatever the day added): it runs on a backfill, a full
-- refresh and --all-tests (tag exptrack_full_scan), not on a daily run, whose every incremental model the
-- randomized property test holds equal to a full refresh (tests/test_incremental_models.py).
{{ config(tags=['exptrack_full_scan']) }}

with unit_sums as (

    select
        experiment_id,
        metric_id,
        variant,
        count(*) as n,
        sum(metric_value) as sum,
        sum(metric_value * metric_value) as sum_sq,
        sum(denominator_value * metric_value) as sum_num_den,
        sum(covariate * metric_value) as sum_xy,
        sum(covariate_den * metric_value) as sum_wy,
        sum(covariate_den * denominator_value) as sum_wd
    from {{ ref('int_unit_metric_values') }}
    group by experiment_id, metric_id, variant

),

last_dates as (

    select
        experiment_id,
        max(analysis_date) as analysis_date
    from {{ ref('int_experiment_analysis_dates') }}
    group by experiment_id

),

last_stats as (

    select stats.*
    from {{ ref('fct_variant_metric_stats') }} as stats
    inner join last_dates
        on stats.experiment_id = last_dates.experiment_id
        and stats.analysis_date = last_dates.analysis_date

)

select
    last_stats.experiment_id,
    last_stats.metric_id,
    last_stats.variant
from last_stats
left join unit_sums
    on last_stats.experiment_id = unit_sums.experiment_id
    and last_stats.metric_id = unit_sums.metric_id
    and last_stats.variant = unit_sums.variant
where coalesce(unit_sums.n, 0) <> last_stats.n
    or abs(coalesce(unit_sums.sum, 0) - last_stats.sum) > 1e-6 * (1 + abs(last_stats.sum))
    or abs(coalesce(unit_sums.sum_sq, 0) - last_stats.sum_sq) > 1e-6 * (1 + abs(last_stats.sum_sq))
    or abs(coalesce(unit_sums.sum_num_den, 0) - last_stats.sum_num_den) > 1e-6 * (1 + abs(last_stats.sum_num_den))
    or abs(coalesce(unit_sums.sum_xy, 0) - last_stats.sum_xy) > 1e-6 * (1 + abs(last_stats.sum_xy))
    or abs(coalesce(unit_sums.sum_wy, 0) - last_stats.sum_wy) > 1e-6 * (1 + abs(last_stats.sum_wy))
    or abs(coalesce(unit_sums.sum_wd, 0) - last_stats.sum_wd) > 1e-6 * (1 + abs(last_stats.sum_wd))
