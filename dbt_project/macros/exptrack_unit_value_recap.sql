{#- A moved percentile cap re-caps the stored unit values instead of recomputing them (int_unit_metric_values).

    A unit's value is exptrack_unit_value(its uncapped total, stat_kind, cap), and the row keeps the uncapped total
    (`numerator_total`). When a cap moves (int_refresh_metric_dates from 1900-01-01, most days for a percentile-capped
    metric) and nothing else reaches a unit (its unit-days, covariate, assignment, eligibility and last analysis date:
    the recomputed scope, exptrack_in_unit_value_scope with `recap`), its total is the stored one, so its new value is
    the stored total under the new cap: the pre-hook below updates the rows whose value differs (the units above the
    lower of the old and new caps) before the recomputed scope is deleted and rebuilt from its unit-days. Re-capping
    from the total is idempotent: a run that fails after it (the refresh state still has the old cap) re-caps the
    same rows to the same values next time. A changed metric or experiment is in scope 'unit' (every row recomputed;
    its update before the delete is harmless).
    Engines without UPDATE (Spark on parquet) recompute every unit of the whole metrics as before. -#}

{#- Whether the engine re-caps int_unit_metric_values in place (an UPDATE). -#}
{% macro exptrack_recaps_unit_values() %}
    {{ return(adapter.dispatch('exptrack_recaps_unit_values', 'exptrack')()) }}
{% endmacro %}

{% macro default__exptrack_recaps_unit_values() %}{{ return(true) }}{% endmacro %}

{#- Spark: parquet tables take no UPDATE; the whole metrics stay in the recomputed scope. -#}
{% macro spark__exptrack_recaps_unit_values() %}{{ return(false) }}{% endmacro %}

{#- The stored int_unit_metric_values, or none when it does not exist yet or has no `numerator_total` (written before
    the column existed: its rows cannot be re-capped, so it is rebuilt whole once; dbt adds the column,
    on_schema_change). Nothing while parsing. -#}
{% macro exptrack_stored_unit_values() %}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {%- set relation = adapter.get_relation(
        database=this.database, schema=this.schema, identifier='int_unit_metric_values'
    ) -%}
    {%- if relation is none -%}{{ return(none) }}{%- endif -%}
    {%- set names = exptrack_columns(relation) | map(attribute='name') | map('lower') | list -%}
    {{ return(relation if 'numerator_total' in names else none) }}
{% endmacro %}

{#- Pre-hook of int_unit_metric_values, before the scope's delete: the rows of the whole metrics (a moved cap) whose
    value under the current cap differs from the stored one, updated from their stored total. Nothing on a first or
    full build, when the table is rebuilt whole, or when no metric is whole. -#}
{% macro exptrack_recap_unit_values() %}
    {%- if exptrack_recaps_this_run() -%}
        update {{ exptrack_stored_unit_values() }} as stored
        set metric_value = {{ exptrack_recapped_value('stored', 'moved_caps') }}
        from {{ exptrack_moved_caps() }} as moved_caps
        where {{ exptrack_recapped_row('stored', 'moved_caps') }}
    {%- endif -%}
{% endmacro %}

{#- Whether the pre-hook above re-caps int_unit_metric_values on this run (its change log, exptrack_value_changes.sql,
    records the same rows). -#}
{% macro exptrack_recaps_this_run() %}
    {%- if is_incremental() and exptrack_recaps_unit_values() and not exptrack_value_state_missing() -%}
        {%- set whole, moved_units = exptrack_unit_value_scope_keys() -%}
        {{ return((whole | length > 0) and exptrack_stored_unit_values() is not none) }}
    {%- endif -%}
    {{ return(false) }}
{% endmacro %}

{#- The whole metrics of this run (a moved cap) with their stat_kind and current cap, as a subquery. -#}
{% macro exptrack_moved_caps() -%}
    (
        select
            dates.experiment_id,
            dates.metric_id,
            metrics.stat_kind,
            caps.cap
        from {{ ref('int_refresh_metric_dates') }} as dates
        inner join {{ ref('stg_metrics') }} as metrics
            on dates.metric_id = metrics.metric_id
        left join {{ ref('int_metric_caps') }} as caps
            on dates.experiment_id = caps.experiment_id
            and dates.metric_id = caps.metric_id
        where dates.since_date <= cast('1900-01-01' as date)
    )
{%- endmacro %}

{#- A stored row (`stored`) of a whole metric (`moved_caps`) whose value under the current cap differs. -#}
{% macro exptrack_recapped_row(stored, moved_caps) -%}
    {{ stored }}.experiment_id = {{ moved_caps }}.experiment_id
    and {{ stored }}.metric_id = {{ moved_caps }}.metric_id
    and {{ stored }}.metric_value <> {{ exptrack_recapped_value(stored, moved_caps) }}
{%- endmacro %}

{#- A stored row's value under the current cap, from its uncapped total. -#}
{% macro exptrack_recapped_value(stored, moved_caps) -%}
    {{ exptrack_unit_value(stored ~ '.numerator_total', moved_caps ~ '.stat_kind', moved_caps ~ '.cap') }}
{%- endmacro %}
