{#- The refresh scope of the quantile models (int_quantile_observations, int_variant_quantile_stats; per experiment ×
    metric × analysis date, read through `alias`): a date's rows are every observation through it, so a change on
    day d moves the dates from d on — scope 'metric_dates' (int_refresh_metric_dates: changed unit-days or
    assignments from their earliest day, a changed metric or experiment from the first day) — and the analysis dates
    after an experiment's previous last date are new (int_refresh_analysis_dates). Without a previous state of the
    dates: every row. -#}
{% macro exptrack_in_quantile_scope(alias) -%}
    (
        {{ "true" if exptrack_value_state_missing() else "false" }}
        or {{ exptrack_in_refresh_scope('metric_dates', alias) }}
        or exists (
            select 1 from {{ ref('int_refresh_analysis_dates') }} as moved_dates
            where moved_dates.experiment_id = {{ alias }}.experiment_id
                and {{ alias }}.analysis_date > moved_dates.after_date
        )
    )
{%- endmacro %}

{#- A superset of the quantile scope on the analysis date alone, the earliest date in scope written as a literal (read
    once), so the warehouse skips the row groups of earlier dates of a large observations table. -#}
{% macro exptrack_quantile_dates_in_scope(column) -%}
    {%- set rebuild_all, since = exptrack_refresh_since() -%}
    {%- set from_date = none -%}
    {%- if execute and not rebuild_all and not exptrack_value_state_missing() -%}
        {%- set found = run_query(
            "select min(from_date) from (select since_date as from_date from " ~ ref('int_refresh_metric_dates')
            ~ " union all select after_date as from_date from " ~ ref('int_refresh_analysis_dates') ~ ") as dates"
        ) -%}
        {%- set from_date = found.rows[0][0] -%}
    {%- endif -%}
    {%- if rebuild_all or exptrack_value_state_missing() -%}
        true
    {%- elif from_date is none -%}
        false
    {%- else -%}
        {{ column }} >= cast('{{ from_date }}' as date)
    {%- endif -%}
{%- endmacro %}

{#- Pre-hook of the quantile models: delete the rows of their scope (nothing on a first or full build). -#}
{% macro exptrack_delete_quantile_scope() %}
    {%- if is_incremental() and exptrack_deletes_refresh_scope() -%}
        {{ exptrack_delete_where(this, 'refreshed', exptrack_in_quantile_scope('refreshed')) }}
    {%- endif -%}
{% endmacro %}
