{#- The refresh scope of int_retention_active_days (per experiment × unit × activity day): the days of scope
    activity_dates (macros/exptrack_refresh_scope.sql) and every day of an experiment one of whose metrics changed —
    which events count as retention activity follows from its metrics' kinds and events (a changed experiment,
    including its list of metrics, is in activity_dates already). -#}
{% macro exptrack_in_retention_scope(alias) -%}
    (
        {{ exptrack_in_refresh_scope('activity_dates', alias) }}
        or {{ alias }}.experiment_id in ({{ exptrack_experiments_with_changed_metrics() }})
    )
{%- endmacro %}

{#- The experiments that use a metric changed since the last run (int_refresh_scope, scope_kind 'metric'). -#}
{% macro exptrack_experiments_with_changed_metrics() -%}
    select experiment_metrics.experiment_id
    from {{ ref('stg_experiment_metrics') }} as experiment_metrics
    inner join {{ ref('int_refresh_scope') }} as changed
        on experiment_metrics.metric_id = changed.scope_key
        and changed.scope_kind = 'metric'
{%- endmacro %}

{#- Pre-hook of int_retention_active_days: delete the rows of its scope (nothing on a first or full build). -#}
{% macro exptrack_delete_retention_scope() %}
    {%- if is_incremental() and exptrack_deletes_refresh_scope() -%}
        {{ exptrack_delete_where(this, 'refreshed', exptrack_in_retention_scope('refreshed')) }}
    {%- endif -%}
{% endmacro %}

{#- The events (their date read from `column`) int_retention_active_days recounts: the days of scope activity_dates as
    literals (exptrack_event_dates_in_refresh_scope), or every event when an experiment's metric changed (read once,
    so a quiet day reads only its own events). -#}
{% macro exptrack_retention_event_dates_in_scope(column) -%}
    {%- set metric_changed = false -%}
    {%- if execute -%}
        {%- set found = run_query("select count(*) from (" ~ exptrack_experiments_with_changed_metrics() ~ ") as changed") -%}
        {%- set metric_changed = found.rows[0][0] > 0 -%}
    {%- endif -%}
    {{ "true" if metric_changed else exptrack_event_dates_in_refresh_scope(column) }}
{%- endmacro %}
