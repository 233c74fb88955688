{{ config(materialized='table') }}
-- Novelty check input: sufficient statistics of each experiment's primary metric per variant for the early period
-- [0, k) and the late period [k, 2k) days since exposure, k = least(7, floor(window_days / 2)), among units exposed
-- at least 2k days before the experiment's last analysis date (so both periods are fully observed for every unit).
-- A unit's value in a period is its metric over that period only (0/1 for proportions, capped like the full metric).
-- Retention metrics are excluded: they count one calendar day per unit (the retention curves cover them).
-- The same units are in both periods, so each row also carries the arm's cross-period sums (Σ y_early·y_late, and for
-- ratios Σ y_early·d_late, Σ d_early·y_late, Σ d_early·d_late; equal on the early and late row of an arm): the novelty
-- test needs the within-unit covariance of the two periods (stats.lift_difference.paired_mean_covariance).
-- The per-unit periods are in int_novelty_unit_periods and their sums per exposure day in
-- int_novelty_exposure_day_sums (both incremental): this table adds exposure days, not units.
with day_sums as (

    select * from {{ ref('int_novelty_exposure_day_sums') }}

)

select
    experiment_id,
    metric_id,
    stat_kind,
    variant,
    is_control,
    period,
    period_days,
    cast(sum(n) as {{ dbt.type_bigint() }}) as n,
    cast(sum(sum) as {{ exptrack_type_double() }}) as sum,
    cast(sum(sum_sq) as {{ exptrack_type_double() }}) as sum_sq,
    cast(sum(sum_den) as {{ exptrack_type_double() }}) as sum_den,
    cast(sum(sum_den_sq) as {{ exptrack_type_double() }}) as sum_den_sq,
    cast(sum(sum_num_den) as {{ exptrack_type_double() }}) as sum_num_den,
    cast(sum(sum_cross) as {{ exptrack_type_double() }}) as sum_cross,
    cast(sum(sum_cross_num_den) as {{ exptrack_type_double() }}) as sum_cross_num_den,
    cast(sum(sum_cross_den_num) as {{ exptrack_type_double() }}) as sum_cross_den_num,
    cast(sum(sum_cross_den) as {{ exptrack_type_double() }}) as sum_cross_den
from day_sums
group by experiment_id, metric_id, stat_kind, variant, is_control, period, period_days
