{{
    config(
        materialized='incremental',
        incremental_strategy=exptrack_incremental_strategy(),
        pre_hook="{{ exptrack_delete_covariate_scope() }}",
    )
}}
-- depends_on: {{ ref('int_refresh_scope') }}
-- depends_on: {{ ref('int_refresh_replaced_units') }}
-- depends_on: {{ ref('int_assignment_changes') }}
-- depends_on: {{ ref('stg_experiment_metrics') }}

-- CUPED covariate per experiment, metric and unit: the same metric over cuped_lookback_days before first exposure
-- (0/1 for proportion metrics, the numerator amount otherwise) and, for ratio metrics, the pre-period denominator w
-- (CUPED on ratios adjusts with Σx/Σw), from the pre-period amounts of every partition (int_unit_metric_pre_period).
-- Units without pre-period events have no row (x = w = 0).
-- Incremental: the units whose pre-period rows can have changed (exptrack_covariate_scope.sql: rows of the rebuilt
-- partitions, the rows they replaced, changed assignments), changed metrics and experiments are re-summed; not every
-- unit active in a rebuilt partition (scope unit, int_refresh_units), whose pre-period did not change.
with pre_period as (

    select pre_period.*
    from {{ ref('int_unit_metric_pre_period') }} as pre_period
    {% if is_incremental() %}
        where {{ exptrack_in_covariate_scope('pre_period') }}
    {% endif %}

),

metrics as (

    select * from {{ ref('stg_metrics') }}

),

unit_totals as (

    select
        pre_period.experiment_id,
        pre_period.metric_id,
        pre_period.user_id,
        metrics.stat_kind,
        sum(pre_period.pre_amount) as pre_amount,
        sum(pre_period.pre_denominator) as pre_denominator
    from pre_period
    inner join metrics
        on pre_period.metric_id = metrics.metric_id
    group by pre_period.experiment_id, pre_period.metric_id, pre_period.user_id, metrics.stat_kind

)

select
    experiment_id,
    metric_id,
    user_id,
    case
        when stat_kind = 'proportion' then case when pre_amount > 0 then 1.0 else 0.0 end
        else pre_amount
    end as covariate,
    pre_denominator as covariate_den
from unit_totals
