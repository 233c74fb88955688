{#- The temporary table in which the adapter's incremental materialization staged this run's new rows of the model,
    or none. dbt-duckdb's `append` path (taken by a model with on_schema_change other than `ignore`, e.g.
    int_unit_metric_values) and dbt-postgres's write the model's rows into `<identifier>__dbt_tmp<timestamp>`, insert
    them into the target and drop the temporary table after the in-transaction post-hooks: a post-hook can read the new
    rows there instead of finding them again in the whole target (macros/exptrack_value_changes.sql). None when no
    such table exists or more than one does (a leftover of a failed run on the same connection): the caller then
    reads the target. Spark (no such table) and parsing: none. -#}
{% macro exptrack_staged_new_rows() %}
    {%- if not execute or not is_incremental() -%}{{ return(none) }}{%- endif -%}
    {{ return(adapter.dispatch('exptrack_staged_new_rows', 'exptrack')()) }}
{% endmacro %}

{% macro default__exptrack_staged_new_rows() %}{{ return(none) }}{% endmacro %}

{% macro duckdb__exptrack_staged_new_rows() %}
    {%- set prefix = this.identifier ~ '__dbt_tmp' -%}
    {%- set found = run_query(
        "select table_name from duckdb_tables() where temporary and starts_with(table_name, '" ~ prefix ~ "')"
    ) -%}
    {%- if found.rows | length != 1 -%}{{ return(none) }}{%- endif -%}
    {{ return('temp.main.' ~ adapter.quote(found.rows[0][0])) }}
{% endmacro %}

{% macro postgres__exptrack_staged_new_rows() %}
    {%- set prefix = this.identifier ~ '__dbt_tmp' -%}
    {%- set found = run_query(
        "select relname from pg_catalog.pg_class where relnamespace = pg_my_temp_schema() and relkind = 'r'"
        ~ " and left(relname, " ~ (prefix | length) ~ ") = '" ~ prefix ~ "'"
    ) -%}
    {%- if found.rows | length != 1 -%}{{ return(none) }}{%- endif -%}
    {{ return('pg_temp.' ~ adapter.quote(found.rows[0][0])) }}
{% endmacro %}
