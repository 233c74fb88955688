{{
    config(
        materialized='incremental',
        incremental_strategy=exptrack_incremental_strategy(),
        pre_hook=["{{ exptrack_avoid_nested_loops() }}", "{{ exptrack_delete_quantile_scope() }}"],
    )
}}
-- depends_on: {{ ref('int_refresh_scope') }}
-- depends_on: {{ ref('int_refresh_metric_dates') }}
-- depends_on: {{ ref('int_refresh_analysis_dates') }}

-- Per experiment × quantile metric × variant × analysis date: the sample quantile of the observations through that
-- date (int_quantile_observations), the order statistics at q ∓ bound_z·√(q(1 − q)/n_obs) that bound it, and per-unit
-- (cluster) sums of the indicator observation ≤ quantile (Deng, Knoblich & Lu 2018); fct_variant_metric_quantiles
-- attaches them to the variant rows. Incremental (exptrack_quantile_scope.sql): a run sorts only the analysis dates
-- in its scope (a quiet day: the new date), reading only their observations.
with metrics as (

    select * from {{ ref('stg_metrics') }}

),

all_observations as (

    select * from {{ ref('int_quantile_observations') }}

),

observations as (

    select * from all_observations
    {% if is_incremental() %}
        where {{ exptrack_quantile_dates_in_scope('all_observations.analysis_date') }}
            and {{ exptrack_in_quantile_scope('all_observations') }}
    {% endif %}

),

sorted_groups as (

    select
        experiment_id,
        metric_id,
        variant,
        analysis_date,
        count(*) as n_obs,
        {{ exptrack_sorted_values('observed_value') }} as sorted_values
    from observations
    group by experiment_id, metric_id, variant, analysis_date

),

probabilities as (

    select
        sorted_groups.*,
        metrics.quantile_level,
        {{ var('quantile_bound_z') }}
        * sqrt(metrics.quantile_level * (1 - metrics.quantile_level) / sorted_groups.n_obs) as bound_halfwidth
    from sorted_groups
    inner join metrics
        on sorted_groups.metric_id = metrics.metric_id

),

quantiles as (

    select
        experiment_id,
        metric_id,
        variant,
        analysis_date,
        n_obs,
        {{ exptrack_interpolated_quantile('sorted_values', 'n_obs', 'quantile_level') }} as quantile_estimate,
        {{ exptrack_interpolated_quantile('sorted_values', 'n_obs', '(quantile_level - bound_halfwidth)') }}
            as quantile_lower,
        {{ exptrack_interpolated_quantile('sorted_values', 'n_obs', '(quantile_level + bound_halfwidth)') }}
            as quantile_upper
    from probabilities

),

unit_counts as (

    select
        observations.experiment_id,
        observations.metric_id,
        observations.variant,
        observations.analysis_date,
        observations.user_id,
        sum(case when observations.observed_value <= quantiles.quantile_estimate then 1 else 0 end) as n_below,
        count(*) as n_observed
    from observations
    inner join quantiles
        on observations.experiment_id = quantiles.experiment_id
        and observations.metric_id = quantiles.metric_id
        and observations.variant = quantiles.variant
        and observations.analysis_date = quantiles.analysis_date
    group by
        observations.experiment_id,
        observations.metric_id,
        observations.variant,
        observations.analysis_date,
        observations.user_id

),

cluster_sums as (

    select
        experiment_id,
        metric_id,
        variant,
        analysis_date,
        {{ exptrack_sufficient_statistics('n_below', 'n_observed') }}
    from unit_counts
    group by experiment_id, metric_id, variant, analysis_date

)

select
    quantiles.experiment_id,
    quantiles.metric_id,
    quantiles.variant,
    quantiles.analysis_date,
    quantiles.n_obs,
    quantiles.quantile_estimate,
    quantiles.quantile_lower,
    quantiles.quantile_upper,
{% for stat in exptrack_sufficient_statistic_names(covariate=false) %}
    cluster_sums.{{ stat }}
    {{- "," if not loop.last }}
{% endfor %}
from quantiles
inner join cluster_sums
    on quantiles.experiment_id = cluster_sums.experiment_id
    and quantiles.metric_id = cluster_sums.metric_id
    and quantiles.variant = cluster_sums.variant
    and quantiles.analysis_date = cluster_sums.analysis_date
