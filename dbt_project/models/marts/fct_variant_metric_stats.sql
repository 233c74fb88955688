-- Cumulative sufficient statistics per experiment × metric × variant × analysis date (from the start through that
-- date): what the statistics library needs, and nothing per unit.
-- `noqa: LT02` in the loops below: sqlfluff reads the templated comma as an element of its own (LT05: the rendered
-- type name makes that line long).
with analysis_dates as (

    select * from {{ ref('int_experiment_analysis_dates') }}

),

experiments as (

    select * from {{ ref('stg_experiments') }}

),

variants as (

    select * from {{ ref('stg_experiment_variants') }}

),

experiment_metrics as (

    select * from {{ ref('stg_experiment_metrics') }}

),

metrics as (

    select * from {{ ref('stg_metrics') }}

),

deltas as (

    select * from {{ ref('int_variant_metric_daily_deltas') }}

),

grid as (

    select
        analysis_dates.experiment_id,
        experiment_metrics.metric_id,
        experiment_metrics.metric_role,
        variants.variant,
        variants.is_control,
        analysis_dates.analysis_date
    from analysis_dates
    inner join experiment_metrics
        on analysis_dates.experiment_id = experiment_metrics.experiment_id
    inner join variants
        on analysis_dates.experiment_id = variants.experiment_id

),

cumulated as (

    select
        grid.experiment_id,
        grid.metric_id,
        grid.metric_role,
        grid.variant,
        grid.is_control,
        grid.analysis_date,
    {% for stat in exptrack_sufficient_statistic_names() %}
        sum(coalesce(deltas.delta_{{ stat }}, 0)) over (
            partition by grid.experiment_id, grid.metric_id, grid.variant
            order by grid.analysis_date
            rows between unbounded preceding and current row
            ) as {{ stat }}{{ "," if not loop.last }}  -- noqa: LT02

    {% endfor %}
    from grid
    left join deltas
        on grid.experiment_id = deltas.experiment_id
        and grid.metric_id = deltas.metric_id
        and grid.variant = deltas.variant
        and grid.analysis_date = deltas.analysis_date

)

select
    cumulated.experiment_id,
    cumulated.metric_id,
    cumulated.metric_role,
    metrics.metric_kind,
    metrics.stat_kind,
    metrics.direction,
    cumulated.variant,
    cumulated.is_control,
    experiments.control_variant,
    cumulated.analysis_date,
{% for stat in exptrack_sufficient_statistic_names() %}
    cast(cumulated.{{ stat }} as {{ exptrack_sufficient_statistic_type(stat) }}) as {{ stat }}{{ "," if not loop.last }}  -- noqa: LT02, LT05

{% endfor %}
from cumulated
inner join experiments
    on cumulated.experiment_id = experiments.experiment_id
inner join metrics
    on cumulated.metric_id = metrics.metric_id
