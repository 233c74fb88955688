{{ config(materialized='table') }}
-- Interaction check input: for every pair of experiments that share analysed users, sufficient statistics of
-- experiment A's primary metric (per-unit values as of A's last analysis date) per A-variant, split by the arm the
-- same users have in experiment B: B's control, or any of B's treatments (pooled). Aggregates only, no user rows.
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
        metrics.stat_kind,
        unit_values.variant,
        unit_values.variant = experiments.control_variant as is_control,
        unit_values.user_id,
        unit_values.metric_value as y,
        unit_values.denominator_value as d
    from unit_values
    inner join experiments
        on unit_values.experiment_id = experiments.experiment_id
        and unit_values.metric_id = experiments.primary_metric_id
    inner join metrics
        on unit_values.metric_id = metrics.metric_id

),

other_arms as (

    select
        assignments.experiment_id as other_experiment_id,
        assignments.user_id,
        case when assignments.variant = experiments.control_variant then 'control' else 'treatment' end as other_arm
    from assignments
    inner join experiments
        on assignments.experiment_id = experiments.experiment_id

)

select
    primary_values.experiment_id,
    primary_values.metric_id,
    primary_values.stat_kind,
    other_arms.other_experiment_id,
    other_arms.other_arm,
    primary_values.variant,
    primary_values.is_control,
    {{ exptrack_sufficient_statistics('primary_values.y', 'primary_values.d') }}
from primary_values
inner join other_arms
    on primary_values.user_id = other_arms.user_id
    and primary_values.experiment_id <> other_arms.other_experiment_id
group by
    primary_values.experiment_id, primary_values.metric_id, primary_values.stat_kind, other_arms.other_experiment_id,
    other_arms.other_arm, primary_values.variant, primary_values.is_control
