{#- The refresh scope of an incremental run: which rows of an incremental model are rebuilt, derived from what changed
    since the last successful run (int_refresh_scope, int_assignment_changes), never from a fixed lookback.

    Two scopes, as SQL conditions over the columns of a model's rows (read through `alias`):
    - 'event_partition' (per-event models, column partition_date): every row loaded from a partition on or after the
      earliest changed partition (a new day, a re-sent day, late data are a new or changed partition). A later
      partition is included because which copy of a repeated event id is the first can change with an earlier day.
    - 'unit_metric' (per experiment × metric × unit models; columns experiment_id, metric_id, user_id,
      partition_date): the above, plus every row of a changed or new metric (metric reload), of a changed or new
      experiment (dates, phases, variants, metrics, unit), and of a unit whose assignment changed (first exposure
      moved, became multi-variant, entered or left the analysed phase).
    Scope 'all' (no state yet, the identity map changed) selects every row: a full rebuild, said in the scope table. -#}
{% macro exptrack_in_refresh_scope(scope, alias) -%}
    {#- The full-rebuild flag and the earliest changed partition are read once and written as literals, so the
        warehouse can skip the untouched partitions (DuckDB zone maps, PostgreSQL indexes / partitions). -#}
    {%- set changes = ref('int_refresh_scope') -%}
    {%- set rebuild_all, since = false, none -%}
    {%- if execute -%}
        {%- set found = run_query(
            "select count(case when scope_kind = 'all' then 1 end) as rebuild_all, "
            ~ "min(case when scope_kind = 'events' then since_date end) as since from " ~ changes
        ) -%}
        {%- set rebuild_all, since = found.rows[0][0] > 0, found.rows[0][1] -%}
    {%- endif -%}
    (
        {{ "true" if rebuild_all else "false" }}
        {%- if since is not none %}
        or {{ alias }}.partition_date >= cast('{{ since }}' as date)
        {%- endif %}
        {%- if scope == 'unit_metric' %}
        or {{ alias }}.metric_id in (select scope_key from {{ changes }} where scope_kind = 'metric')
        or {{ alias }}.experiment_id in (select scope_key from {{ changes }} where scope_kind = 'experiment')
        or exists (
            select 1 from {{ ref('int_assignment_changes') }} as changed_units
            where changed_units.experiment_id = {{ alias }}.experiment_id
                and changed_units.user_id = {{ alias }}.user_id
        )
        {%- endif %}
    )
{%- endmacro %}

{#- Pre-hook of an incremental model: delete the rows of its refresh scope, which the model then selects anew.
    Nothing on a first or --full-refresh build (dbt builds the whole table). -#}
{% macro exptrack_delete_refresh_scope(scope) %}
    {%- if is_incremental() and exptrack_deletes_refresh_scope() -%}
        {{ exptrack_delete_where(this, 'refreshed', exptrack_in_refresh_scope(scope, 'refreshed')) }}
    {%- endif -%}
{% endmacro %}

{#- A cheap superset of the metric event amounts (int_metric_event_amounts, read through `alias`) a unit-level
    incremental model needs for its 'unit_metric' scope: the changed partitions' amounts, every amount of a changed
    metric or of a changed experiment's metrics, every amount of a unit whose assignment changed. The model applies
    the exact scope to its output rows. -#}
{% macro exptrack_amounts_in_refresh_scope(alias) -%}
    (
        {{ exptrack_in_refresh_scope('event_partition', alias) }}
        or {{ alias }}.metric_id in (
            select scope_key from {{ ref('int_refresh_scope') }} where scope_kind = 'metric'
            union all
            select experiment_metrics.metric_id
            from {{ ref('stg_experiment_metrics') }} as experiment_metrics
            inner join {{ ref('int_refresh_scope') }} as changed
                on experiment_metrics.experiment_id = changed.scope_key
                and changed.scope_kind = 'experiment'
        )
        or exists (
            select 1 from {{ ref('int_assignment_changes') }} as changed_units
            where changed_units.user_id = {{ alias }}.user_id
                and changed_units.unit_type = {{ alias }}.unit_type
        )
    )
{%- endmacro %}
