{#- Post-hook for table models: refresh the planner's statistics as soon as the table exists.

    PostgreSQL has no statistics on a table dbt has just created (autovacuum analyses it seconds to minutes later),
    so the next model that joins it is planned blind: on the demo data int_unit_metric_values then picks a merge join
    on (experiment_id, metric_id) with user_id as a join filter and runs for 10+ minutes instead of 3 seconds.
    DuckDB, Snowflake, BigQuery and Trino keep their statistics themselves: nothing to do there.

    Wired in dbt_project.yml:  models: exptrack: +post-hook: "{{ exptrack_analyze_table() }}"  -#}
{% macro exptrack_analyze_table() %}
    {{ return(adapter.dispatch('exptrack_analyze_table', 'exptrack')()) }}
{% endmacro %}

{% macro default__exptrack_analyze_table() %}{% endmacro %}

{% macro postgres__exptrack_analyze_table() %}
    {%- if config.get('materialized') in ('table', 'incremental') -%}
        analyze {{ this }}
    {%- endif -%}
{% endmacro %}
