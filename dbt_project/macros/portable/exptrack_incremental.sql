{#- How an incremental model replaces the rows of its refresh scope (macros/exptrack_refresh_scope.sql), per engine:
    the one place an engine chooses its strategy.

    default (DuckDB, PostgreSQL): a pre-hook deletes the scope's rows (exptrack_delete_refresh_scope), the model
    selects the scope's new rows and dbt's built-in `append` inserts them, in the model's transaction. A delete by
    predicate, not by the new rows' keys: a row whose inputs vanished (a re-sent day without it) is removed too,
    which `delete+insert` (delete the keys present in the new batch) would leave behind.
    Spark on parquet (no DELETE) keeps `append` too: its exptrack_delete_where drops or rewrites the partitions the
    scope covers (macros/spark/exptrack_incremental_spark.sql). -#}
{% macro exptrack_incremental_strategy() %}
    {{ return(adapter.dispatch('exptrack_incremental_strategy', 'exptrack')()) }}
{% endmacro %}

{% macro default__exptrack_incremental_strategy() %}{{ return('append') }}{% endmacro %}

{#- Whether the engine removes the refresh scope's rows with a DELETE before the insert (see above). -#}
{% macro exptrack_deletes_refresh_scope() %}
    {{ return(adapter.dispatch('exptrack_deletes_refresh_scope', 'exptrack')()) }}
{% endmacro %}

{% macro default__exptrack_deletes_refresh_scope() %}{{ return(true) }}{% endmacro %}

{#- A 64-bit hash of one row (every column of `relation`, read through `alias`), for change fingerprints: summed per
    key, two states of the same rows give the same sum, any edit (almost surely) another. NULL and '' differ. -#}
{% macro exptrack_row_hash(relation, alias) %}
    {{ return(adapter.dispatch('exptrack_row_hash', 'exptrack')(relation, alias)) }}
{% endmacro %}

{% macro default__exptrack_row_hash(relation, alias) -%}
    {%- set columns = exptrack_columns(relation) if execute else [] -%}
    hash({% for column in columns %}{{ alias }}.{{ adapter.quote(column.name) }}{{ ", " if not loop.last }}{% endfor %}{{ "null" if not columns }})
{%- endmacro %}

{% macro postgres__exptrack_row_hash(relation, alias) -%}
    {%- set columns = exptrack_columns(relation) if execute else [] -%}
    hashtextextended(row({% for column in columns %}{{ alias }}.{{ adapter.quote(column.name) }}{{ ", " if not loop.last }}{% endfor %}{{ "null" if not columns }})::text, 0)
{%- endmacro %}
