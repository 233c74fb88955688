{#- Delete the rows of `relation` (read through `alias`) for which `condition` holds: the refresh scope's rows an
    incremental model removes before it appends their new version (exptrack_delete_refresh_scope).
    default (DuckDB, PostgreSQL): one DELETE in the model's transaction. Spark has no DELETE on parquet tables:
    spark__exptrack_delete_where (macros/spark/exptrack_incremental_spark.sql) drops and rewrites partitions. -#}
{% macro exptrack_delete_where(relation, alias, condition) %}
    {{ return(adapter.dispatch('exptrack_delete_where', 'exptrack')(relation, alias, condition)) }}
{% endmacro %}

{% macro default__exptrack_delete_where(relation, alias, condition) -%}
    delete from {{ relation }} as {{ alias }} where {{ condition }}
{%- endmacro %}
