{#- The values of a group, sorted ascending, as one array (an aggregate): the order statistics a quantile metric reads
    by position with exptrack_element_at. Arrays, not quantile_cont / percentile_cont: those take the probability as a
    constant (DuckDB) or per group only through the GROUP BY (PostgreSQL), and the bounding order statistics of a
    quantile interval sit at probabilities that depend on each group's n. -#}
{% macro exptrack_sorted_values(expression) %}
    {{ return(adapter.dispatch('exptrack_sorted_values', 'exptrack')(expression)) }}
{% endmacro %}

{% macro default__exptrack_sorted_values(expression) -%}
    array_agg({{ expression }} order by {{ expression }})
{%- endmacro %}

{% macro duckdb__exptrack_sorted_values(expression) -%}
    list({{ expression }} order by {{ expression }})
{%- endmacro %}


{#- The element at a 1-based position of an array from exptrack_sorted_values. -#}
{% macro exptrack_element_at(array, position) %}
    {{ return(adapter.dispatch('exptrack_element_at', 'exptrack')(array, position)) }}
{% endmacro %}

{% macro default__exptrack_element_at(array, position) -%}
    ({{ array }})[cast({{ position }} as integer)]
{%- endmacro %}

{% macro duckdb__exptrack_element_at(array, position) -%}
    list_extract({{ array }}, cast({{ position }} as bigint))
{%- endmacro %}

{#- Spark (the `spark` branch's adapter; not exercised by this branch's tests): collect_list is unordered, so sort it. -#}
{% macro spark__exptrack_sorted_values(expression) -%}
    array_sort(collect_list({{ expression }}))
{%- endmacro %}

{% macro spark__exptrack_element_at(array, position) -%}
    element_at({{ array }}, cast({{ position }} as int))
{%- endmacro %}
