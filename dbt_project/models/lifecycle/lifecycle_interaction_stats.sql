{{ config(materialized='table') }}
-- Interaction check input: for every pair of experiments that share analysed users, sufficient statistics of
-- experiment A's primary metric (per-unit values as of A's last analysis date) per A-variant, split by the arm the
-- same users have in experiment B: B's control, or any of B's treatments (pooled). Aggregates only, no user rows.
-- Performance: the unit values are narrowed to each experiment's primary metric on their own, before the join with
-- the other experiments' assignments, and that join is summed per B-variant; the registry names the arms, and the
-- catalog the metric's kind, on those few thousand sums. With the catalog joined beside the primary-metric filter,
-- DuckDB joined every metric's values with the assignments first (15.4M rows at 10M events; the query took twice
-- the CPU: BENCHMARKS.md, "Session of 2026-12-01 morning").

with assignments as (

    select * from {{ ref('int_assignments') }}

),

experiments as (

    select * from {{ ref('stg_experiments') }}

),

metrics as (

    select * from {{ ref('stg_metrics') }}

),

unit_values as (

    select * from {{ ref('int_unit_metric_values') }}

),

primary_values as (

    select
        unit_values.experiment_id,
        unit_values.metric_id,
        unit_values.variant,
        unit_values.user_id,
        unit_values.metric_value as y,
        unit_values.denominator_value as d
    from unit_values
    inner join experiments
        on unit_values.experiment_id = experiments.experiment_id
        and unit_values.metric_id = experiments.primary_metric_id

),

sums_by_other_variant as (

    select
        primary_values.experiment_id,
        primary_values.metric_id,
        primary_values.variant,
        assignments.experiment_id as other_experiment_id,
        assignments.variant as other_variant,
        {{ exptrack_sufficient_statistics('primary_values.y', 'primary_values.d') }}
    from primary_values
    inner join assignments
        on primary_values.user_id = assignments.user_id
        and primary_values.experiment_id <> assignments.experiment_id
    group by
        primary_values.experiment_id,
        primary_values.metric_id,
        primary_values.variant,
        assignments.experiment_id,
        assignments.variant

),

sums_by_other_arm as (

    select
        sums.experiment_id,
        sums.metric_id,
        metrics.stat_kind,
        sums.other_experiment_id,
        case when sums.other_variant = other_experiments.control_variant then 'control' else 'treatment' end
            as other_arm,
        sums.variant,
        sums.variant = experiments.control_variant as is_control,
        sums.n,
        sums.sum,
        sums.sum_sq,
        sums.sum_den,
        sums.sum_den_sq,
        sums.sum_num_den
    from sums_by_other_variant as sums
    inner join experiments
        on sums.experiment_id = experiments.experiment_id
    inner join experiments as other_experiments
        on sums.other_experiment_id = other_experiments.experiment_id
    inner join metrics
        on sums.metric_id = metrics.metric_id

)

select
    experiment_id,
    metric_id,
    stat_kind,
    other_experiment_id,
    other_arm,
    variant,
    is_control,
    cast(sum(n) as {{ dbt.type_bigint() }}) as n,
    cast(sum(sum) as {{ exptrack_type_double() }}) as sum,  -- noqa: RF04
    cast(sum(sum_sq) as {{ exptrack_type_double() }}) as sum_sq,
    cast(sum(sum_den) as {{ exptrack_type_double() }}) as sum_den,
    cast(sum(sum_den_sq) as {{ exptrack_type_double() }}) as sum_den_sq,
    cast(sum(sum_num_den) as {{ exptrack_type_double() }}) as sum_num_den
from sums_by_other_arm
group by experiment_id, metric_id, stat_kind, other_experiment_id, other_arm, variant, is_control
