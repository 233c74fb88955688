{#- What the unit-value scope (exptrack_in_unit_value_scope) reads besides exptrack_in_refresh_scope('unit'), read once
    before the model runs: the (experiment, metric) pairs rebuilt whole (int_refresh_metric_dates from 1900-01-01: a
    moved percentile cap, a changed metric or experiment), as a list, and whether int_refresh_value_units has a row
    (its subquery is left out otherwise). Nothing while parsing. -#}
{% macro exptrack_unit_value_scope_keys() %}
    {%- set dates, moved = ref('int_refresh_metric_dates'), ref('int_refresh_value_units') -%}
    {%- if not execute -%}{{ return(([], false)) }}{%- endif -%}
    {%- set whole = exptrack_read_once(
        "select distinct experiment_id, metric_id from " ~ dates
        ~ " where since_date <= cast('1900-01-01' as date) order by 1, 2",
        ['int_refresh_metric_dates']
    ) -%}
    {%- set found = exptrack_read_once(
        "select count(*) from (select 1 from " ~ moved ~ " limit 1) as any_row", ['int_refresh_value_units']
    ) -%}
    {{ return((whole, found[0][0] > 0)) }}
{% endmacro %}

{#- `or` one literal condition per (experiment_id, metric_id) pair of `pairs`, over the columns of `alias`; nothing
    when there is none. -#}
{% macro exptrack_in_pairs(pairs, alias) -%}
    {%- for experiment_id, metric_id in pairs %}
        or ({{ alias }}.experiment_id = '{{ experiment_id | replace("'", "''") }}'
            and {{ alias }}.metric_id = '{{ metric_id | replace("'", "''") }}')
    {%- endfor %}
{%- endmacro %}

{#- Which analysed units int_unit_metric_values needs to read on an incremental run, when that is fewer than all:
    the experiments whose every unit is in scope (changed experiments, a list; every other unit in scope has its
    experiment × unit in int_refresh_units or int_refresh_value_units). None when every assignment must be read: no
    previous state, scope all, a changed metric, or whole metrics in the recomputed scope (no re-cap: Spark); the
    scope's own condition is applied afterwards in every case, so this only narrows what the joins read. -#}
{% macro exptrack_unit_value_experiments_bound(recap) %}
    {%- if not execute or not is_incremental() -%}{{ return(none) }}{%- endif -%}
    {%- set rebuild_all, since = exptrack_refresh_since() -%}
    {%- if rebuild_all or exptrack_value_state_missing() or exptrack_stored_unit_values() is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set changed = exptrack_refresh_changed_keys() -%}
    {%- set whole, moved_units = exptrack_unit_value_scope_keys() -%}
    {%- if changed['metric'] or (whole and not recap) -%}{{ return(none) }}{%- endif -%}
    {{ return(changed['experiment']) }}
{% endmacro %}
