{#- Pre-hook of the quantile models: their selective filters (the few quantile metrics of the catalog) make PostgreSQL
    estimate a handful of rows and nest loops over large joins (int_quantile_observations ran for 30+ minutes on the
    demo data); nested loops are turned off for that model's transaction. Nothing to do elsewhere. -#}
{% macro exptrack_avoid_nested_loops() %}
    {{ return(adapter.dispatch('exptrack_avoid_nested_loops', 'exptrack')()) }}
{% endmacro %}

{% macro default__exptrack_avoid_nested_loops() %}{% endmacro %}

{% macro postgres__exptrack_avoid_nested_loops() %}
    set local enable_nestloop = off
{% endmacro %}
