{#- A 64-bit hash of one string expression (an event id), for a narrow membership table (int_event_id_hashes): equal
    ids give equal hashes; a match is a candidate only (checked against the id itself). DuckDB hash() (UBIGINT),
    PostgreSQL hashtextextended (bigint), Spark xxhash64 (bigint: Spark's hash() has 32 bits). -#}
{% macro exptrack_id_hash(expression) -%}
    {{ return(adapter.dispatch('exptrack_id_hash', 'exptrack')(expression)) }}
{%- endmacro %}

{% macro default__exptrack_id_hash(expression) -%}hash({{ expression }}){%- endmacro %}

{% macro postgres__exptrack_id_hash(expression) -%}hashtextextended({{ expression }}, 0){%- endmacro %}

{% macro spark__exptrack_id_hash(expression) -%}xxhash64({{ expression }}){%- endmacro %}
