{#- What an incremental run of int_quantile_observations reads (models/intermediate/int_refresh_quantile_bases.sql):
    the rows it keeps for each scoped experiment × metric's base date, and the events and unit-days after that date.
    The bounds are read once and written into the SQL as literals, so the warehouse skips the row groups (DuckDB zone
    maps) of earlier days instead of joining every event with the scope. -#}

{#- (scoped, complete, earliest, latest): whether any experiment × quantile metric is in scope, whether each has a
    base date, and the earliest and latest base date. On a first or full build: nothing to read back. -#}
{% macro exptrack_quantile_base_bounds() %}
    {%- if not execute or not is_incremental() -%}{{ return((true, false, none, none)) }}{%- endif -%}
    {%- set found = run_query(
        "select count(*), count(base_date), min(base_date), max(base_date) from " ~ ref('int_refresh_quantile_bases')
    ) -%}
    {%- set row = found.rows[0] -%}
    {{ return((row[0] > 0, row[0] == row[1], row[2], row[3])) }}
{% endmacro %}

{#- A condition on the day (`column`) of an event or unit-day: after the earliest base date (every day when some scoped
    experiment × metric has none, or on a first or full build; no day when nothing is in scope). The exact per
    experiment × metric bound is the join with int_refresh_quantile_bases. -#}
{% macro exptrack_after_quantile_bases(column) -%}
    {%- set scoped, complete, earliest, latest = exptrack_quantile_base_bounds() -%}
    {%- if not scoped -%}
        1 = 0
    {%- elif not complete -%}
        1 = 1
    {%- else -%}
        {{ column }} > cast('{{ earliest }}' as date)
    {%- endif -%}
{%- endmacro %}

{#- A condition on the analysis date (`column`) of the rows int_quantile_observations keeps: between the earliest and
    the latest base date (none on a first or full build, or without a base date). -#}
{% macro exptrack_on_quantile_bases(column) -%}
    {%- set scoped, complete, earliest, latest = exptrack_quantile_base_bounds() -%}
    {%- if earliest is none -%}
        1 = 0
    {%- else -%}
        {{ column }} between cast('{{ earliest }}' as date) and cast('{{ latest }}' as date)
    {%- endif -%}
{%- endmacro %}
