{#- Leaner `incremental`, `table` and `view` materializations on DuckDB (issue 16: the fixed cost of a dbt step).

    dbt-duckdb's own materializations pay per node for work this project never needs on a daily run:
    * an incremental run first writes the model's rows into a temporary table, describes it and the target (the
      schema-change check), then copies the rows into the target — every new row written twice. Here, on an
      incremental run of an existing table (no full refresh, no contract, the default `on_schema_change: ignore`, no
      unique key), the rows go straight into the target: the pre-hooks (the refresh scope's delete) run, then one
      `insert into <target> (<its columns>) select <its columns> from (<model>)` in the same transaction — the
      columns and order dbt's `append` uses, so a column the model adds is ignored and one it drops fails, as before;
    * a table is built under a temporary name, its indexes listed, the old table renamed to a backup, the new one
      renamed into place and the backup dropped: five statements around the one that does the work. Here a table
      without a contract, partitioning or sort order that already exists as a table is replaced by one
      `create or replace table ... as (<model>)` in the model's transaction (DuckDB replaces it atomically at
      commit, as the rename did); a view that exists as a view likewise by one `create or replace view`.
    Every other case (a first build, --full-refresh, a contract, a view becoming a table or back, another
    strategy, on_schema_change other than ignore, Python models) is dbt-duckdb's (for a view dbt's default)
    materialization, called unchanged.
    PostgreSQL keeps its adapter's materializations: these override only `adapter='duckdb'` (Spark's lean incremental:
    macros/spark/exptrack_materializations_spark.sql).
    The tables are the same either way (tests/test_incremental_*.py compare incremental runs, which take the lean
    paths, with a full refresh, whose incremental models take dbt-duckdb's). -#}

{% materialization incremental, adapter='duckdb', supported_languages=['sql', 'python'] -%}
    {%- set existing_relation = load_cached_relation(this) -%}
    {%- if not exptrack_duckdb_lean_incremental(existing_relation) -%}
        {{ return(dbt.materialization_incremental_duckdb()) }}
    {%- endif -%}
    {%- set target_relation = this.incorporate(type='table') -%}

    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    -- `BEGIN` happens here:
    {{ run_hooks(pre_hooks, inside_transaction=True) }}

    {% do exptrack_insert_model_rows(target_relation, existing_relation, compiled_code) %}

    {% do apply_grants(target_relation, config.get('grants'), should_revoke=should_revoke(existing_relation, false)) %}
    {% do persist_docs(target_relation, model) %}

    {{ run_hooks(post_hooks, inside_transaction=True) }}
    -- `COMMIT` happens here
    {% do adapter.commit() %}
    {{ run_hooks(post_hooks, inside_transaction=False) }}

    {{ return({'relations': [target_relation]}) }}
{%- endmaterialization %}


{% materialization table, adapter='duckdb', supported_languages=['sql', 'python'] -%}
    {%- set existing_relation = load_cached_relation(this) -%}
    {%- if not exptrack_duckdb_lean_table(existing_relation) -%}
        {{ return(dbt.materialization_table_duckdb()) }}
    {%- endif -%}
    {{ return(exptrack_duckdb_create_or_replace('table', existing_relation, compiled_code)) }}
{%- endmaterialization %}


{% materialization view, adapter='duckdb' -%}
    {%- set existing_relation = load_cached_relation(this) -%}
    {%- set contract = config.get('contract') -%}
    {%- if existing_relation is none or not existing_relation.is_view or (contract and contract.enforced) -%}
        {{ return(dbt.materialization_view_default()) }}
    {%- endif -%}
    {{ return(exptrack_duckdb_create_or_replace('view', existing_relation, sql)) }}
{%- endmaterialization %}


{#- The lean table / view build: `create or replace <kind> <this> as (<model>)` in the model's transaction, with the
    hooks, grants and docs where dbt's materializations run them. -#}
{% macro exptrack_duckdb_create_or_replace(kind, existing_relation, model_sql) %}
    {%- set target_relation = this.incorporate(type=kind) -%}

    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    -- `BEGIN` happens here:
    {{ run_hooks(pre_hooks, inside_transaction=True) }}

    {% call statement('main') -%}
        {{ config.get('sql_header') or '' }}
        create or replace {{ kind }} {{ target_relation }} as (
            {{ model_sql }}
        )
    {%- endcall %}

    {% if kind == 'table' %}{% do create_indexes(target_relation) %}{% endif %}
    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {% do apply_grants(target_relation, config.get('grants'), should_revoke=should_revoke(existing_relation, true)) %}
    {% do persist_docs(target_relation, model) %}
    -- `COMMIT` happens here
    {% do adapter.commit() %}
    {{ run_hooks(post_hooks, inside_transaction=False) }}

    {{ return({'relations': [target_relation]}) }}
{% endmacro %}


{#- Whether an incremental model takes the lean path above: an incremental run into an existing table that dbt's
    `append` would fill from its temporary table column by column. -#}
{% macro exptrack_duckdb_lean_incremental(existing_relation) %}
    {%- set contract = config.get('contract') -%}
    {{ return(
        model['language'] == 'sql'
        and existing_relation is not none and existing_relation.is_table
        and not should_full_refresh()
        and config.get('incremental_strategy') == 'append'
        and (config.get('on_schema_change') or 'ignore') == 'ignore'
        and not config.get('unique_key')
        and not (contract and contract.enforced)
        and not adapter.is_ducklake(this)
    ) }}
{% endmacro %}

{#- Whether a table model takes the lean path above: it replaces an existing table and declares nothing the
    adapter's path handles (a contract and its constraints, partitioning or sort order, a DuckLake catalog). -#}
{% macro exptrack_duckdb_lean_table(existing_relation) %}
    {%- set contract = config.get('contract') -%}
    {{ return(
        model['language'] == 'sql'
        and existing_relation is not none and existing_relation.is_table
        and not (contract and contract.enforced)
        and not (config.get('partitioned_by') or config.get('partition_by'))
        and not (config.get('sorted_by') or config.get('sort_by'))
        and not adapter.is_ducklake(this)
    ) }}
{% endmacro %}
