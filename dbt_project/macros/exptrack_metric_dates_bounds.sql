{#- A superset of int_variant_metric_daily_deltas' refresh scope (exptrack_in_delta_scope) on the day alone (`column`):
    the days from the earliest delta_since_date of int_refresh_metric_dates on, written as a literal (read once), so
    the warehouse skips the row groups of earlier days instead of testing every row against the scope. Every row of a
    changed metric or experiment is in int_refresh_metric_dates from 1900-01-01 (the earliest date then lets every
    day through), and a full rebuild (exptrack_deltas_rebuild_all) keeps every day; nothing in the scope keeps none
    (a moved cap alone is not in it: int_refresh_cap_corrections). Used with the exact scope, never instead of it.
    Without `column`: whether anything is in the scope at all (`1 = 1`, or `1 = 0` when nothing is: the warehouse then
    reads none of the rows it guards). -#}
{% macro exptrack_metric_dates_since(column=none) -%}
    {%- set rebuild_all = exptrack_deltas_rebuild_all() -%}
    {%- set from_date = none -%}
    {%- if execute and not rebuild_all -%}
        {%- set from_date = exptrack_refresh_min_date('int_refresh_metric_dates', 'delta_since_date') -%}
    {%- endif -%}
    {%- if rebuild_all or not execute -%}
        1 = 1
    {%- elif from_date is none -%}
        1 = 0
    {%- elif column is none -%}
        1 = 1
    {%- else -%}
        {{ column }} >= cast('{{ from_date }}' as date)
    {%- endif -%}
{%- endmacro %}

{#- The first rebuilt day of int_variant_metric_daily_deltas as a literal date string (the earliest delta_since_date,
    the bound exptrack_metric_dates_since writes), or none when the model is rebuilt whole, a changed metric or
    experiment rebuilds all its days, nothing is in its scope or dbt is not executing. The model splits its units' days
    there: the days before it only add up to each unit's starting totals (a sum per unit), and only the days from it on
    need the running totals (a window). -#}
{% macro exptrack_metric_dates_from() -%}
    {%- if not execute or exptrack_deltas_rebuild_all() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set changed = exptrack_refresh_changed_keys() -%}
    {%- if changed['metric'] or changed['experiment'] -%}
        {{ return(none) }}  {#- their every day is rebuilt (from 1900-01-01): nothing to split -#}
    {%- endif -%}
    {{ return(exptrack_refresh_min_date('int_refresh_metric_dates', 'delta_since_date')) }}
{%- endmacro %}
