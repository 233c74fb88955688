{{ config(pre_hook="{{ exptrack_avoid_nested_loops() }}") }}

-- Per experiment × quantile metric × variant × analysis date (cumulative from the start): what the statistics library
-- needs for a quantile's interval (exptrack_pipeline/stats/quantile.py) and nothing per unit. The sample quantile,
-- the order statistics at q ∓ bound_z·√(q(1 − q)/n_obs) that bound it, and per-unit (cluster) sums of the indicator
-- observation ≤ quantile for the event-level cluster adjustment (Deng, Knoblich & Lu 2018), computed per analysis
-- date by int_variant_quantile_stats (incremental), attached here to every quantile-metric row of the variant stats.
with variant_stats as (

    select * from {{ ref('fct_variant_metric_stats') }}

),

metrics as (

    select * from {{ ref('stg_metrics') }}

),

quantile_stats as (

    select * from {{ ref('int_variant_quantile_stats') }}

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
    cast(coalesce(quantile_stats.n_obs, 0) as {{ dbt.type_bigint() }}) as n_obs,
    cast(quantile_stats.quantile_estimate as {{ exptrack_type_double() }}) as quantile_estimate,
    cast(quantile_stats.quantile_lower as {{ exptrack_type_double() }}) as quantile_lower,
    cast(quantile_stats.quantile_upper as {{ exptrack_type_double() }}) as quantile_upper,
    cast({{ var('quantile_bound_z') }} as {{ exptrack_type_double() }}) as bound_z,
    cast(coalesce(quantile_stats.n, 0) as {{ dbt.type_bigint() }}) as n,
{% for stat in exptrack_sufficient_statistic_names(covariate=false)[1:] %}
    cast(coalesce(quantile_stats.{{ stat }}, 0) as {{ exptrack_type_double() }}) as {{ stat }}
    {{- "," if not loop.last }}
{% endfor %}
from variant_stats
inner join metrics
    on variant_stats.metric_id = metrics.metric_id
left join quantile_stats
    on variant_stats.experiment_id = quantile_stats.experiment_id
    and variant_stats.metric_id = quantile_stats.metric_id
    and variant_stats.variant = quantile_stats.variant
    and variant_stats.analysis_date = quantile_stats.analysis_date
where variant_stats.stat_kind = 'quantile'
