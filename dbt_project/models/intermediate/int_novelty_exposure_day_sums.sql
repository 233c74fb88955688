{{
    config(
        materialized='incremental',
        incremental_strategy=exptrack_incremental_strategy(),
        pre_hook="{{ exptrack_delete_novelty_days_scope() }}",
    )
}}
-- depends_on: {{ ref('int_refresh_scope') }}
-- depends_on: {{ ref('int_refresh_novelty_days') }}

-- lifecycle_novelty_stats' sums per exposure day: per experiment, primary metric, variant, exposure day and period
-- (early [0, k), late [k, 2k) days since exposure), the sufficient statistics of the units' period values
-- (int_novelty_unit_periods) and the arm's cross-period sums (Σ y_early·y_late, Σ y_early·d_late, Σ d_early·y_late,
-- Σ d_early·d_late; equal on the early and late row). Sums over disjoint sets of units add up, so
-- lifecycle_novelty_stats adds the days (a small grid) instead of summing every unit.
-- Incremental (exptrack_novelty_scope.sql): a run re-sums the exposure days whose unit periods it replaced
-- (int_refresh_novelty_days): a quiet day, a few recent days — not every unit since the experiment started.
with unit_pairs as (

    select periods.*
    from {{ ref('int_novelty_unit_periods') }} as periods
    {% if is_incremental() %}
        where {{ exptrack_in_novelty_days_scope('periods') }}
    {% endif %}

),

period_names as (

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
        unit_pairs.exposure_date,
        periods.period,
        case when periods.period = 'early' then unit_pairs.y_early else unit_pairs.y_late end as y,
        case when periods.period = 'early' then unit_pairs.d_early else unit_pairs.d_late end as d,
        unit_pairs.y_early * unit_pairs.y_late as cross_y,
        unit_pairs.y_early * unit_pairs.d_late as cross_num_den,
        unit_pairs.d_early * unit_pairs.y_late as cross_den_num,
        unit_pairs.d_early * unit_pairs.d_late as cross_d
    from unit_pairs
    cross join period_names as periods

)

select
    experiment_id,
    metric_id,
    stat_kind,
    variant,
    is_control,
    cast(exposure_date as date) as exposure_date,
    period,
    period_days,
    {{ exptrack_sufficient_statistics('y', 'd') }},
    cast(sum(cross_y) as {{ exptrack_type_double() }}) as sum_cross,
    cast(sum(cross_num_den) as {{ exptrack_type_double() }}) as sum_cross_num_den,
    cast(sum(cross_den_num) as {{ exptrack_type_double() }}) as sum_cross_den_num,
    cast(sum(cross_d) as {{ exptrack_type_double() }}) as sum_cross_den
from unit_values
group by experiment_id, metric_id, stat_kind, variant, is_control, exposure_date, period, period_days
