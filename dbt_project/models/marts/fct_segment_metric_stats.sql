-- Sufficient statistics per experiment × metric × variant × segment at the experiment's last analysis date.
with unit_values as (

    select * from {{ ref('int_unit_metric_values') }}

),

unit_attributes as (

    select * from {{ ref('int_unit_attributes') }}

),

experiment_metrics as (

    select * from {{ ref('stg_experiment_metrics') }}

),

metrics as (

    select * from {{ ref('stg_metrics') }}

),

experiments as (

    select * from {{ ref('stg_experiments') }}

),

last_dates as (

    select experiment_id, max(analysis_date) as analysis_date
    from {{ ref('int_experiment_analysis_dates') }}
    group by experiment_id

),

segment_stats as (

    select
        unit_values.experiment_id,
        unit_values.metric_id,
        unit_values.variant,
        unit_attributes.attribute,
        unit_attributes.attribute_value,
        count(*) as n,
        sum(unit_values.metric_value) as sum,
        sum(unit_values.metric_value * unit_values.metric_value) as sum_sq,
        sum(unit_values.denominator_value) as sum_den,
        sum(unit_values.denominator_value * unit_values.denominator_value) as sum_den_sq,
        sum(unit_values.metric_value * unit_values.denominator_value) as sum_num_den,
        sum(unit_values.covariate) as sum_x,
        sum(unit_values.covariate * unit_values.covariate) as sum_x_sq,
        sum(unit_values.covariate * unit_values.metric_value) as sum_xy
    from unit_values
    inner join unit_attributes
        on unit_values.experiment_id = unit_attributes.experiment_id
        and unit_values.user_id = unit_attributes.user_id
    group by
        unit_values.experiment_id,
        unit_values.metric_id,
        unit_values.variant,
        unit_attributes.attribute,
        unit_attributes.attribute_value

)

select
    segment_stats.experiment_id,
    segment_stats.metric_id,
    experiment_metrics.metric_role,
    metrics.metric_kind,
    metrics.stat_kind,
    metrics.direction,
    segment_stats.variant,
    segment_stats.variant = experiments.control_variant as is_control,
    experiments.control_variant,
    segment_stats.attribute,
    segment_stats.attribute_value,
    last_dates.analysis_date,
    cast(segment_stats.n as {{ dbt.type_bigint() }}) as n,
    {% for stat in ['sum', 'sum_sq', 'sum_den', 'sum_den_sq', 'sum_num_den', 'sum_x', 'sum_x_sq', 'sum_xy'] %}
    cast(segment_stats.{{ stat }} as {{ exptrack_type_double() }}) as {{ stat }}{{ "," if not loop.last }}
    {% endfor %}
from segment_stats
inner join experiment_metrics
    on segment_stats.experiment_id = experiment_metrics.experiment_id
    and segment_stats.metric_id = experiment_metrics.metric_id
inner join metrics
    on segment_stats.metric_id = metrics.metric_id
inner join experiments
    on segment_stats.experiment_id = experiments.experiment_id
inner join last_dates
    on segment_stats.experiment_id = last_dates.experiment_id
