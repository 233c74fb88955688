{#- The sufficient statistics the statistics library reads (exptrack_pipeline/schemas.py, VariantMetricStats), named
    once: n; sum, sum_sq of the metric value y; sum_den, sum_den_sq, sum_num_den of a ratio metric's denominator d;
    with a CUPED covariate x also sum_x, sum_x_sq, sum_xy, and with the pre-period denominator w of a ratio metric's
    covariate (CUPED on ratios: x the pre-period numerator) sum_w, sum_w_sq, sum_xw, sum_xd, sum_wy, sum_wd. -#}
{% macro exptrack_sufficient_statistic_names(covariate=true) %}
    {%- set covariates = ['sum_x', 'sum_x_sq', 'sum_xy', 'sum_w', 'sum_w_sq', 'sum_xw', 'sum_xd', 'sum_wy', 'sum_wd'] -%}
    {{ return(['n', 'sum', 'sum_sq', 'sum_den', 'sum_den_sq', 'sum_num_den'] + (covariates if covariate else [])) }}
{% endmacro %}

{#- The SQL type of a sufficient statistic: a count is bigint, every sum a 64-bit float. -#}
{% macro exptrack_sufficient_statistic_type(name) %}
    {{ return(dbt.type_bigint() if name == 'n' else exptrack_type_double()) }}
{% endmacro %}

{#- The aggregates of a group of units: y the metric value, d the denominator, x the covariate and w its pre-period
    denominator (both or neither). `sign`: an expression of +1 or -1 per row (a change log's rows: the statistics are
    additive, so a row of sign -1 takes its unit out of the group's sums, docs/incremental.md "Per-unit deltas"). -#}
{% macro exptrack_sufficient_statistics(y, d, x=none, w=none, sign=none) %}
    {%- if (x is none) != (w is none) -%}
        {{ exceptions.raise_compiler_error('exptrack_sufficient_statistics: pass both the covariate x and its denominator w, or neither') }}
    {%- endif -%}
    {%- set sums = {'sum': y, 'sum_sq': y ~ ' * ' ~ y, 'sum_den': d, 'sum_den_sq': d ~ ' * ' ~ d, 'sum_num_den': y ~ ' * ' ~ d} -%}
    {%- if x is not none -%}
        {%- do sums.update({'sum_x': x, 'sum_x_sq': x ~ ' * ' ~ x, 'sum_xy': x ~ ' * ' ~ y}) -%}
        {%- do sums.update({'sum_w': w, 'sum_w_sq': w ~ ' * ' ~ w, 'sum_xw': x ~ ' * ' ~ w}) -%}
        {%- do sums.update({'sum_xd': x ~ ' * ' ~ d, 'sum_wy': w ~ ' * ' ~ y, 'sum_wd': w ~ ' * ' ~ d}) -%}
    {%- endif -%}
    cast({{ "count(*)" if sign is none else "sum(" ~ sign ~ ")" }} as {{ dbt.type_bigint() }}) as n
    {%- for name in exptrack_sufficient_statistic_names(covariate=x is not none)[1:] %},
    cast(sum({{ sums[name] if sign is none else sign ~ " * (" ~ sums[name] ~ ")" }}) as {{ exptrack_type_double() }}) as {{ name }}
    {%- endfor %}
{% endmacro %}
