-- The exposure days (per experiment) of the unit periods int_novelty_unit_periods is about to replace, read before it
-- is rebuilt (it depends on this model): a unit whose first exposure moved, or that left the analysis, leaves no row
-- on its old day afterwards, yet that day's sums (int_novelty_exposure_day_sums) must be re-summed
-- (int_refresh_novelty_days). Empty on a first build, without a previous state of the dates, or on a full rebuild:
-- every day is re-summed then anyway.
-- depends_on: {{ ref('int_refresh_scope') }}
-- depends_on: {{ ref('int_refresh_units') }}
-- depends_on: {{ ref('int_refresh_metric_dates') }}
-- depends_on: {{ ref('int_refresh_analysis_dates') }}
-- depends_on: {{ ref('stg_experiments') }}
-- depends_on: {{ ref('stg_metrics') }}
{%- set rebuild_all, since = exptrack_refresh_since() %}
{%- set periods = adapter.get_relation(
    database=this.database, schema=this.schema, identifier='int_novelty_unit_periods'
) if execute else none %}

{% if periods is not none and not rebuild_all and not exptrack_value_state_missing() %}
    select distinct
        replaced.experiment_id,
        replaced.exposure_date
    from {{ periods }} as replaced
    where {{ exptrack_in_novelty_scope('replaced') }}
{% else %}
    select
        experiment_id,
        exposure_date
    from {{ ref('int_assignments') }}
    where 1 = 0
{% endif %}
