{#- A relation's columns (dbt Column objects, as `adapter.get_columns_in_relation` returns them), read in the calling
    macro's own context.

    `adapter.get_columns_in_relation` runs its macro through `adapter.execute_macro`, which builds a whole new macro
    context (every macro of the project, the adapter and dbt: ≈ 690) for each call: on DuckDB about as much Python as
    the query itself, and a daily run asks ≈ 55 times (the lean incremental inserts, the change fingerprints' row
    hashes, the checks for columns added after a table was built). Calling the adapter's own macro
    (`duckdb__get_columns_in_relation`, `postgres__get_columns_in_relation`) from the current context runs the same
    statement and the same conversion without that. Only for relations that exist (DuckDB's DESCRIBE raises on a
    missing one, where the adapter method returns []): every caller checks first or reads a declared source.
    Spark keeps the adapter method (its macro returns the raw `describe extended` rows that the method parses). -#}
{% macro exptrack_columns(relation) %}
    {{ return(adapter.dispatch('exptrack_columns', 'exptrack')(relation)) }}
{% endmacro %}

{% macro default__exptrack_columns(relation) %}{{ return(adapter.get_columns_in_relation(relation)) }}{% endmacro %}

{% macro duckdb__exptrack_columns(relation) %}{{ return(duckdb__get_columns_in_relation(relation)) }}{% endmacro %}

{% macro postgres__exptrack_columns(relation) %}{{ return(postgres__get_columns_in_relation(relation)) }}{% endmacro %}
