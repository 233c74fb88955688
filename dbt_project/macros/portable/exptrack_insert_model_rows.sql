{#- The statement of the lean incremental materializations (macros/duckdb/exptrack_materializations_duckdb.sql,
    macros/spark/exptrack_materializations_spark.sql): the model's rows inserted straight into its existing table,
    `insert into <target> (<its columns>) select <its columns> from (<model>)` — the columns and order dbt's `append`
    uses, so a column the model adds is ignored and one it drops fails. The same SQL on DuckDB and Spark. -#}
{% macro exptrack_insert_model_rows(target_relation, existing_relation, compiled_code) %}
    {%- set dest_columns = exptrack_columns(existing_relation) -%}
    {%- set column_list = get_quoted_csv(dest_columns | map(attribute='name')) -%}
    {% call statement('main') -%}
        insert into {{ target_relation }} ({{ column_list }})
        select {{ column_list }} from (
            {{ compiled_code }}
        ) as exptrack_new_rows
    {%- endcall %}
{% endmacro %}
