-- Sufficient statistics per experiment × metric × variant × segment at the experiment's last analysis date.
-- `noqa: LT02` in the loop below: sqlfluff reads the templated comma as an element of its own.
with segment_stats as (

    -- kept by per-unit deltas (int_segment_metric_sums, macros/exptrack_value_changes.sql)
    select * from {{ ref('int_segment_metric_sums') }}

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

    select * from {{ ref('int_experiment_last_analysis_dates') }}

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
    last_dates.last_analysis_date as analysis_date,
{% for stat in exptrack_sufficient_statistic_names() %}
    segment_stats.{{ stat }}{{ "," if not loop.last }}  -- noqa: LT02

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
