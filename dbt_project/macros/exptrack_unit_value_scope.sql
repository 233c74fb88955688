{#- The first analysis date on which a unit counts for a metric (int_unit_metric_values): its exposure date, or for a
    retention Dn metric the day n days after it. Columns read from `assignments` and `metrics`. -#}
{% macro exptrack_unit_eligible_from() -%}
    case
        when metrics.metric_kind = 'retention'
            then cast({{ dbt.dateadd('day', 'metrics.retention_day', 'assignments.exposure_date') }} as date)
        else assignments.exposure_date
    end
{%- endmacro %}

{#- The refresh scope of int_unit_metric_values (per experiment × metric × unit, read through `alias`): scope 'unit'
    (a changed metric or experiment, a unit of int_refresh_units: its unit-days, covariate or assignment changed),
    every unit of a metric whose every value moved (int_refresh_metric_dates from the first day: a moved percentile
    cap, a changed metric or experiment), and the units whose value moved with the last analysis date
    (int_refresh_value_units). Without a previous state of the dates (int_refresh_value_dates): every row.
    The whole metrics are written in as a literal list and a subquery over an empty table is left out
    (macros/exptrack_unit_value_bounds.sql): an OR of EXISTS makes the warehouse test every row against each.
    `moved`: another condition for the units whose value moved with the date (lifecycle_novelty's unit periods).
    `recap`: int_unit_metric_values' recomputed rows only (exptrack_recaps_unit_values): the whole metrics are left out
    (a unit of one whose value moved for no other reason is re-capped in place, exptrack_recap_unit_values; a changed
    metric or experiment is in scope 'unit' anyway), and a stored table without `numerator_total` is rebuilt whole.
    Without `recap` (the daily tests, exptrack_test_scope.sql): every row the run wrote, re-capped ones included. -#}
{% macro exptrack_in_unit_value_scope(alias, moved=none, recap=false) -%}
    {%- set whole, moved_units = exptrack_unit_value_scope_keys() -%}
    {%- set rebuild_all = exptrack_value_state_missing() or (recap and exptrack_stored_unit_values() is none) -%}
    (
        {{ "true" if rebuild_all else "false" }}
        or {{ exptrack_in_refresh_scope('unit', alias) }}
        {{- exptrack_in_pairs([] if recap else whole, alias) }}
        {%- if moved is not none %}
        or {{ moved }}
        {%- elif moved_units %}
        or exists (
            select 1 from {{ ref('int_refresh_value_units') }} as moved_units
            where moved_units.experiment_id = {{ alias }}.experiment_id
                and moved_units.metric_id = {{ alias }}.metric_id
                and moved_units.user_id = {{ alias }}.user_id
        )
        {%- endif %}
    )
{%- endmacro %}

{#- Pre-hook of int_unit_metric_values (`recap`) and int_novelty_unit_periods (with `moved`): delete the rows of its
    scope (nothing on a first or full build). -#}
{% macro exptrack_delete_unit_value_scope(moved=none, recap=false) %}
    {%- if is_incremental() and exptrack_deletes_refresh_scope() -%}
        {{ exptrack_delete_where(this, 'refreshed', exptrack_in_unit_value_scope('refreshed', moved, recap)) }}
    {%- endif -%}
{% endmacro %}

{#- Whether the value-side models have no previous state (int_refresh_value_dates not built yet): their scope is then
    every row. In a data test (exptrack_test_scope.sql) `this` is the test's own relation: the models' schema is the
    target's. -#}
{% macro exptrack_value_state_missing() %}
    {%- if not execute -%}{{ return(true) }}{%- endif -%}
    {%- set home = target if model.resource_type == 'test' else this -%}
    {%- set previous = adapter.get_relation(
        database=home.database, schema=home.schema, identifier='int_refresh_value_dates'
    ) -%}
    {{ return(previous is none) }}
{% endmacro %}

{#- The units of int_novelty_unit_periods (read through `alias`) whose both periods became (or stopped being) fully
    observed between the old and the new last analysis date (int_refresh_analysis_dates): exposure + 2k − 1 days in
    between. -#}
{% macro exptrack_novelty_units_moved(alias) -%}
    exists (
        select 1 from {{ ref('int_refresh_analysis_dates') }} as moved_dates
        where moved_dates.experiment_id = {{ alias }}.experiment_id
            and {{ exptrack_novelty_observed_from(alias) }} > moved_dates.after_date
            and {{ exptrack_novelty_observed_from(alias) }} <= moved_dates.through_date
    )
{%- endmacro %}

{#- The last day of a unit's late period (exposure_date + 2·period_days − 1), read through `alias`: from that analysis
    date on both periods are fully observed. -#}
{% macro exptrack_novelty_observed_from(alias) -%}
    cast({{ dbt.dateadd('day', '2 * ' ~ alias ~ '.period_days - 1', alias ~ '.exposure_date') }} as date)
{%- endmacro %}
