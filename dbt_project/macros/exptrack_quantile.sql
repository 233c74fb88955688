{#- The quantile at `probability` of n sorted values (an array from exptrack_sorted_values), interpolated linearly
    between order statistics: position h = 1 + (n − 1)·p, x[⌊h⌋] + (h − ⌊h⌋)·(x[⌊h⌋ + 1] − x[⌊h⌋]) (Hyndman & Fan
    1996 type 7, as numpy's default, DuckDB quantile_cont and PostgreSQL percentile_cont). Null when p is outside
    [0, 1] (too few values for the bounds of a quantile interval) or n = 0. -#}
{% macro exptrack_interpolated_quantile(sorted_values, n, probability) -%}
    {%- set position = '(1 + (' ~ n ~ ' - 1) * ' ~ probability ~ ')' -%}
    {%- set below = 'floor' ~ position -%}
    case
        when {{ n }} > 0 and {{ probability }} >= 0 and {{ probability }} <= 1
            then {{ exptrack_element_at(sorted_values, below) }}
            + ({{ position }} - {{ below }})
            * (
                {{ exptrack_element_at(sorted_values, 'least(' ~ below ~ ' + 1, ' ~ n ~ ')') }}
                - {{ exptrack_element_at(sorted_values, below) }}
            )
    end
{%- endmacro %}
