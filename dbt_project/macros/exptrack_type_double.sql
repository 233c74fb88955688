{#- A 64-bit float on every warehouse. dbt's type_float() is a 32-bit REAL on DuckDB and Postgres, which is far too
    coarse for sums of squares. -#}
{% macro exptrack_type_double() %}
    {{ return(adapter.dispatch('exptrack_type_double', 'exptrack')()) }}
{% endmacro %}

{% macro default__exptrack_type_double() %}double precision{% endmacro %}

{% macro bigquery__exptrack_type_double() %}float64{% endmacro %}

{% macro spark__exptrack_type_double() %}double{% endmacro %}
