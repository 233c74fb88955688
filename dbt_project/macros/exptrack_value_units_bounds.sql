{#- int_refresh_value_units' bounds as literals: the earliest old last analysis date of int_refresh_analysis_dates
    (unit-days after it), and that date less the longest retention Dn of the catalog (a unit exposed on or before it
    was eligible before every moved date). 1900-01-01 when nothing moved or the tables are not built yet (the join
    with the moved dates then selects nothing, or everything on a first build). -#}
{% macro exptrack_value_units_after() %}
    {%- set first_day = '1900-01-01' -%}
    {%- if not execute -%}{{ return((first_day, first_day)) }}{%- endif -%}
    {%- set moved = ref('int_refresh_analysis_dates') -%}
    {%- if adapter.get_relation(database=moved.database, schema=moved.schema, identifier=moved.identifier) is none -%}
        {{ return((first_day, first_day)) }}  {#- not built yet (`dbt compile` of a fresh warehouse) -#}
    {%- endif -%}
    {%- set found = run_query(
        "select cast(min(moved.after_date) as date), cast("
        ~ dbt.dateadd('day', '-1 * coalesce(max(metrics.retention_day), 0)', 'min(moved.after_date)')
        ~ " as date) from " ~ ref('int_refresh_analysis_dates') ~ " as moved cross join " ~ ref('stg_metrics')
        ~ " as metrics"
    ) -%}
    {%- set after, eligible_after = found.rows[0][0], found.rows[0][1] -%}
    {%- if after is none or eligible_after is none or after | string < first_day -%}
        {{ return((first_day, first_day)) }}
    {%- endif -%}
    {{ return((after, eligible_after)) }}
{% endmacro %}
