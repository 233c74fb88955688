{#- A leaner `incremental` materialization on Spark (issues 16/18: a daily run's cost per statement).

    dbt-spark's incremental run of an existing table first creates a temporary view of the model
    (`create or replace temporary view <model>__dbt_tmp as <model>`), then inserts from it
    (`insert into table <target> select <its columns> from <view>`). A temporary view made by SQL keeps its text,
    not its plan, so Spark parses and analyses the model twice: once for the view, again for the insert. On the
    incremental sequence's daily runs the 20 views took 16–20 s of 128–152 s of statements (the model's scope
    CTEs over views of views), for nothing the insert did not redo.
    Here, on an incremental run of an existing table (no full refresh, no contract, the default
    `on_schema_change: ignore`, no unique key, the `append` strategy that macros/portable/exptrack_incremental.sql
    gives every incremental model on Spark, a SQL model), the pre-hooks (the refresh scope's partition drops and
    rewrites) run, then one `insert into <target> (<its columns>) select <its columns> from (<model>)`
    (macros/portable/exptrack_insert_model_rows.sql): the columns and order dbt-spark's `append` uses.
    Every other case (a first build, --full-refresh, another strategy, a contract, a schema-change policy, Python
    models) is dbt-spark's materialization, called unchanged. The tables are the same either way
    (tests/test_spark_incremental.py compares the daily runs, which take this path, with a full refresh, whose
    models take dbt-spark's). -#}

{% materialization incremental, adapter='spark', supported_languages=['sql', 'python'] -%}
    {%- set existing_relation = load_relation(this) -%}
    {%- if not exptrack_spark_lean_incremental(existing_relation) -%}
        {{ return(dbt.materialization_incremental_spark()) }}
    {%- endif -%}
    {%- set target_relation = this -%}

    {{ run_hooks(pre_hooks) }}

    {% do exptrack_insert_model_rows(target_relation, existing_relation, compiled_code) %}

    {% do apply_grants(target_relation, config.get('grants'), should_revoke=should_revoke(existing_relation, false)) %}
    {% do persist_docs(target_relation, model) %}

    {{ run_hooks(post_hooks) }}

    {{ return({'relations': [target_relation]}) }}
{%- endmaterialization %}


{#- Whether an incremental model takes the lean path above: an incremental `append` run into an existing table. -#}
{% macro exptrack_spark_lean_incremental(existing_relation) %}
    {%- set contract = config.get('contract') -%}
    {%- set strategy = config.get('incremental_strategy') or 'append' -%}
    {{ return(
        model['language'] == 'sql'
        and existing_relation is not none and not existing_relation.is_view
        and not should_full_refresh()
        and strategy == 'append'
        and (config.get('on_schema_change') or 'ignore') == 'ignore'
        and not config.get('unique_key')
        and not (contract and contract.enforced)
    ) }}
{% endmacro %}
