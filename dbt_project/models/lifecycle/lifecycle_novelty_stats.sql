{{ config(materialized='table') }}
-- Novelty check input: sufficient statistics of each experiment's primary metric per variant for the early period
-- [0, k) and the late period [k, 2k) days since exposure, k = least(7, floor(window_days / 2)), among units exposed
-- at least 2k days before the experiment's last analysis date (so both periods are fully observed for every unit).
-- A unit's value in a period is its metric over that period only (0/1 for proportions, capped like the full metric).
-- Retention metrics are excluded: they count one calendar day per unit (the retention curves cover them).
-- The same units are in both periods, so each row also carries the arm's cross-period sums (Σ y_early·y_late, and for
-- ratios Σ y_early·d_late, Σ d_early·y_late, Σ d_early·d_late; equal on the early and late row of an arm): the novelty
-- test needs the within-unit covariance of the two periods (stats.lift_difference.paired_mean_covariance).
-- The per-unit periods come from int_novelty_unit_periods (incremental): this table sums units, not unit-days.
with unit_pairs as (

    select * from {{ ref('int_novelty_unit_periods') }}

),

periods as (

    select 'early' as period
    union all
    select 'late' as period

),

unit_values as (

    -- one row per unit and period
    select
        unit_pairs.experiment_id,
        unit_pairs.metric_id,
        unit_pairs.stat_kind,
        unit_pairs.period_days,
        unit_pairs.variant,
        unit_pairs.is_control,
        periods.period,
        case when periods.period = 'early' then unit_pairs.y_early else unit_pairs.y_late end as y,
        case when periods.period = 'early' then unit_pairs.d_early else unit_pairs.d_late end as d
    from unit_pairs
    cross join periods

),

cross_sums as (

    select
        experiment_id,
        metric_id,
        variant,
        cast(sum(y_early * y_late) as {{ exptrack_type_double() }}) as sum_cross,
        cast(sum(y_early * d_late) as {{ exptrack_type_double() }}) as sum_cross_num_den,
        cast(sum(d_early * y_late) as {{ exptrack_type_double() }}) as sum_cross_den_num,
        cast(sum(d_early * d_late) as {{ exptrack_type_double() }}) as sum_cross_den
    from unit_pairs
    group by experiment_id, metric_id, variant

),

period_sums as (

    select
        experiment_id,
        metric_id,
        stat_kind,
        variant,
        is_control,
        period,
        period_days,
        {{ exptrack_sufficient_statistics('y', 'd') }}
    from unit_values
    group by experiment_id, metric_id, stat_kind, variant, is_control, period, period_days

)

select
    period_sums.*,
    cross_sums.sum_cross,
    cross_sums.sum_cross_num_den,
    cross_sums.sum_cross_den_num,
    cross_sums.sum_cross_den
from period_sums
inner join cross_sums
    on period_sums.experiment_id = cross_sums.experiment_id
    and period_sums.metric_id = cross_sums.metric_id
    and period_sums.variant = cross_sums.variant
