{{
    config(
        materialized='incremental',
        incremental_strategy=exptrack_incremental_strategy(),
        pre_hook=[
            "{{ exptrack_log_unit_value_recap() }}",
            "{{ exptrack_recap_unit_values() }}",
            "{{ exptrack_log_unit_value_scope(-1) }}",
            "{{ exptrack_delete_unit_value_scope(recap=exptrack_recaps_unit_values()) }}",
        ],
        post_hook="{{ exptrack_log_unit_value_scope(1) }}",
        on_schema_change='append_new_columns',
    )
}}
-- The hooks also log every change of a row into int_segment_value_changes (macros/exptrack_value_changes.sql),
-- against the current int_unit_attributes (built before this model).
-- depends_on: {{ ref('int_segment_value_changes') }}
-- depends_on: {{ ref('int_unit_attributes') }}
-- depends_on: {{ ref('int_refresh_scope') }}
-- depends_on: {{ ref('int_refresh_units') }}
-- depends_on: {{ ref('int_refresh_metric_dates') }}
-- depends_on: {{ ref('int_refresh_value_units') }}

-- Each analysed unit's metric value as of its experiment's last analysis date: y (capped, or 0/1), the ratio
-- denominator d and the CUPED covariate x (with its pre-period denominator w for ratios), and the uncapped total
-- behind y (numerator_total). Units with no qualifying event have y = d = 0. Retention Dn units count only once they
-- are n days past exposure.
-- Incremental (exptrack_unit_value_scope.sql): a run recomputes the units whose unit-days, covariate or assignment
-- changed (int_refresh_units), whose value moved with the last analysis date (int_refresh_value_units: unit-days or
-- eligibility between the old and the new date), and every unit of a changed metric or experiment. A moved cap
-- re-caps the other units' stored totals in place (exptrack_unit_value_recap.sql; on Spark: every unit recomputed).
-- Written in (metric, experiment) order on DuckDB (exptrack_clustered_by.sql): the reads of a few metrics' values
-- (lifecycle_interaction_stats' primary metrics, the re-cap of a moved cap's metric) skip the other row groups.
{%- set experiments_bound = exptrack_unit_value_experiments_bound(exptrack_recaps_unit_values()) %}

with assignments as (

    -- the alias is read by the bound below (an incremental run's)
    select * from {{ ref('int_assignments') }} as assignments  -- noqa: AL05
    {%- if experiments_bound is not none %}
    -- Performance: a daily run recomputes a few units (a quiet day: those with unit-days on it or newly eligible), so
    -- only their assignments are joined with the metrics, not every analysed unit's (exptrack_unit_value_bounds.sql);
    -- the scope condition below still decides which rows are rebuilt.
    where
        {%- if experiments_bound %}
        assignments.experiment_id in ({{ exptrack_sql_strings(experiments_bound) }}) or
        {%- endif %}
        exists (
            select 1 from (
                select experiment_id, user_id from {{ ref('int_refresh_units') }}
                union all
                select experiment_id, user_id from {{ ref('int_refresh_value_units') }}
            ) as scoped_keys
            where scoped_keys.experiment_id = assignments.experiment_id
                and scoped_keys.user_id = assignments.user_id
        )
    {%- endif %}

),

experiment_metrics as (

    select * from {{ ref('stg_experiment_metrics') }}

),

metrics as (

    select * from {{ ref('stg_metrics') }}

),

last_dates as (

    select * from {{ ref('int_experiment_last_analysis_dates') }}

),

daily as (

    select * from {{ ref('int_unit_metric_daily') }}

),

caps as (

    select * from {{ ref('int_metric_caps') }}

),

covariates as (

    select * from {{ ref('int_unit_metric_covariates') }}

),

eligible_units as (

    select
        assignments.experiment_id,
        experiment_metrics.metric_id,
        assignments.variant,
        assignments.user_id,
        metrics.stat_kind,
        last_dates.last_analysis_date
    from assignments
    inner join experiment_metrics
        on assignments.experiment_id = experiment_metrics.experiment_id
    inner join metrics
        on experiment_metrics.metric_id = metrics.metric_id
    inner join last_dates
        on assignments.experiment_id = last_dates.experiment_id
    where {{ exptrack_unit_eligible_from() }} <= last_dates.last_analysis_date

),

scoped_units as (

    select * from eligible_units
    {% if is_incremental() %}
        where {{ exptrack_in_unit_value_scope('eligible_units', recap=exptrack_recaps_unit_values()) }}
    {% endif %}

),

unit_rows as (

    -- Performance: the unit-days and the covariates are summed in one aggregate and attached to the (many more)
    -- eligible units by one join below. Two separate joins of tables of ~6M units each (the day sums and the
    -- covariates) in one pipeline ran DuckDB out of its 3GB memory_limit at 100M events; one aggregate spills.
    -- int_unit_metric_daily only holds analysed units of the experiment's metrics, so no eligibility join is needed
    -- here; a unit has at most one covariate row, so its sum is the covariate itself.
    select
        daily.experiment_id,
        daily.metric_id,
        daily.user_id,
        daily.numerator_amount,
        daily.denominator_amount,
        cast(null as {{ exptrack_type_double() }}) as covariate,
        cast(null as {{ exptrack_type_double() }}) as covariate_den
    from daily
    inner join last_dates
        on daily.experiment_id = last_dates.experiment_id
    {% if is_incremental() %}
        -- only the units recomputed (a semi-join: scoped_units has one row per experiment, metric and unit)
        inner join scoped_units
            on daily.experiment_id = scoped_units.experiment_id
            and daily.metric_id = scoped_units.metric_id
            and daily.user_id = scoped_units.user_id
    {% endif %}
    where daily.activity_date <= last_dates.last_analysis_date

    union all

    select
        covariates.experiment_id,
        covariates.metric_id,
        covariates.user_id,
        cast(null as {{ exptrack_type_double() }}) as numerator_amount,
        cast(null as {{ exptrack_type_double() }}) as denominator_amount,
        covariates.covariate,
        covariates.covariate_den
    from covariates
    {% if is_incremental() %}
        inner join scoped_units
            on covariates.experiment_id = scoped_units.experiment_id
            and covariates.metric_id = scoped_units.metric_id
            and covariates.user_id = scoped_units.user_id
    {% endif %}

),

totals as (

    select
        experiment_id,
        metric_id,
        user_id,
        sum(numerator_amount) as numerator_total,
        sum(denominator_amount) as denominator_total,
        sum(covariate) as covariate,
        sum(covariate_den) as covariate_den
    from unit_rows
    group by experiment_id, metric_id, user_id

)

select
    scoped_units.experiment_id,
    scoped_units.metric_id,
    scoped_units.variant,
    scoped_units.user_id,
    {{ exptrack_unit_value('coalesce(totals.numerator_total, 0)', 'scoped_units.stat_kind', 'caps.cap') }}
        as metric_value,
    coalesce(totals.denominator_total, 0) as denominator_value,
    coalesce(totals.covariate, 0) as covariate,
    coalesce(totals.covariate_den, 0) as covariate_den,
    coalesce(totals.numerator_total, 0) as numerator_total
from scoped_units
left join totals
    on scoped_units.experiment_id = totals.experiment_id
    and scoped_units.metric_id = totals.metric_id
    and scoped_units.user_id = totals.user_id
left join caps
    on scoped_units.experiment_id = caps.experiment_id
    and scoped_units.metric_id = caps.metric_id
{{ exptrack_clustered_by(['metric_id', 'experiment_id']) }}
