{{ config(pre_hook="{{ exptrack_avoid_nested_loops() }}") }}

-- Per experiment × quantile metric × variant × analysis date (cumulative from the start): what the statistics library
-- needs for a quantile's interval (exptrack_pipeline/stats/quantile.py) and nothing per unit. The sample quantile,
-- the order statistics at q ∓ bound_z·√(q(1 − q)/n_obs) that bound it, and per-unit (cluster) sums of the indicator
-- observation ≤ quantile for the event-level cluster adjustment (Deng, Knoblich & Lu 2018).
with variant_stats as (

    select * from {{ ref('fct_variant_metric_stats') }}

),

metrics as (

    select * from {{ ref('stg_metrics') }}

),

observations as (

    select * from {{ ref('int_quantile_observations') }}

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
    variant_stats.experiment_id,
    variant_stats.metric_id,
    variant_stats.metric_role,
    variant_stats.metric_kind,
    variant_stats.stat_kind,
    variant_stats.direction,
    variant_stats.variant,
    variant_stats.is_control,
    variant_stats.control_variant,
    variant_stats.analysis_date,
    metrics.quantile_level,
    metrics.quantile_granularity,
    cast(coalesce(quantiles.n_obs, 0) as {{ dbt.type_bigint() }}) as n_obs,
    cast(quantiles.quantile_estimate as {{ exptrack_type_double() }}) as quantile_estimate,
    cast(quantiles.quantile_lower as {{ exptrack_type_double() }}) as quantile_lower,
    cast(quantiles.quantile_upper as {{ exptrack_type_double() }}) as quantile_upper,
    cast({{ var('quantile_bound_z') }} as {{ exptrack_type_double() }}) as bound_z,
    cast(coalesce(cluster_sums.n, 0) as {{ dbt.type_bigint() }}) as n,
{% for stat in exptrack_sufficient_statistic_names(covariate=false)[1:] %}
    cast(coalesce(cluster_sums.{{ stat }}, 0) as {{ exptrack_type_double() }}) as {{ stat }}
    {{- "," if not loop.last }}
{% endfor %}
from variant_stats
inner join metrics
    on variant_stats.metric_id = metrics.metric_id
left join quantiles
    on variant_stats.experiment_id = quantiles.experiment_id
    and variant_stats.metric_id = quantiles.metric_id
    and variant_stats.variant = quantiles.variant
    and variant_stats.analysis_date = quantiles.analysis_date
left join cluster_sums
    on variant_stats.experiment_id = cluster_sums.experiment_id
    and variant_stats.metric_id = cluster_sums.metric_id
    and variant_stats.variant = cluster_sums.variant
    and variant_stats.analysis_date = cluster_sums.analysis_date
where variant_stats.stat_kind = 'quantile'
