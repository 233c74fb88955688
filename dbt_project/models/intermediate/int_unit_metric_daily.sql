{{
    config(
        materialized='incremental',
        incremental_strategy=exptrack_incremental_strategy(),
        pre_hook="{{ exptrack_delete_refresh_scope('unit', unit_date_column='activity_date') }}",
    )
}}
-- depends_on: {{ ref('int_refresh_scope') }}
-- depends_on: {{ ref('int_refresh_units') }}

-- Per experiment, metric, analysed unit and day: what the unit's events added to the metric after exposure
-- (int_unit_metric_daily_by_partition, the incremental table, summed over the events' partitions).
-- Incremental: a run re-sums the units of int_refresh_units (their partition rows or assignment changed) and the
-- changed metrics and experiments (scope unit); every other unit's partition rows are unchanged. Of a unit's days,
-- only those from its since_date on (the earliest day its change touches) are re-summed: its earlier days' partition
-- rows did not change.
-- Written in (metric, experiment) order on DuckDB (exptrack_clustered_by.sql): the models that read a few metrics'
-- unit-days (caps, cap corrections, novelty) skip the other metrics' row groups.
with by_partition as (

    select by_partition.*
    from {{ ref('int_unit_metric_daily_by_partition') }} as by_partition
    {% if is_incremental() %}
        where {{ exptrack_in_refresh_scope('unit', 'by_partition', unit_date_column='activity_date') }}
    {% endif %}

)

select
    experiment_id,
    metric_id,
    variant,
    user_id,
    activity_date,
    sum(numerator_amount) as numerator_amount,
    sum(denominator_amount) as denominator_amount
from by_partition
group by experiment_id, metric_id, variant, user_id, activity_date
{{ exptrack_clustered_by(['metric_id', 'experiment_id']) }}
