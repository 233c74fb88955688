{#- The refresh scope of int_variant_metric_daily_deltas: scope 'metric_dates' (macros/exptrack_refresh_scope.sql) read
    from int_refresh_metric_dates.delta_since_date, which leaves out the percentile caps that moved. A moved cap changes
    a unit-day's capped value only where the unit's running total exceeds the lower of the old and the new cap, so the
    deltas of the days before delta_since_date are corrected, not rebuilt (int_refresh_cap_corrections; the cap each
    row was built with is its `cap` column). What changed is read before the model runs and written in as literals,
    as in exptrack_in_refresh_scope. -#}
{% macro exptrack_in_delta_scope(alias, date_column='analysis_date') -%}
    {%- set rebuild_all = exptrack_deltas_rebuild_all() -%}
    {%- set changed = exptrack_refresh_changed_keys() if not rebuild_all else {'metric': [], 'experiment': []} -%}
    {%- set from_day = exptrack_refresh_min_date('int_refresh_metric_dates', 'delta_since_date') if not rebuild_all else none -%}
    (
        {{ "true" if rebuild_all else "false" }}
        {%- if changed['metric'] %}
        or {{ alias }}.metric_id in ({{ exptrack_sql_strings(changed['metric']) }})
        {%- endif %}
        {%- if changed['experiment'] %}
        or {{ alias }}.experiment_id in ({{ exptrack_sql_strings(changed['experiment']) }})
        {%- endif %}
        {%- if from_day is not none %}
        or (
            {{ alias }}.{{ date_column }} >= cast('{{ from_day }}' as date)
            and exists (
                select 1 from {{ ref('int_refresh_metric_dates') }} as changed_dates
                where changed_dates.experiment_id = {{ alias }}.experiment_id
                    and changed_dates.metric_id = {{ alias }}.metric_id
                    and {{ alias }}.{{ date_column }} >= changed_dates.delta_since_date
            )
        )
        {%- endif %}
    )
{%- endmacro %}

{#- Whether int_variant_metric_daily_deltas is rebuilt whole on this incremental run: scope all (no state yet, the
    identity map changed), or a table written before it recorded the cap of each row (no `cap` column: the moved-cap
    corrections need it; dbt adds the column, on_schema_change). -#}
{% macro exptrack_deltas_rebuild_all() %}
    {%- set rebuild_all, since = exptrack_refresh_since() -%}
    {{ return(rebuild_all or (execute and exptrack_stored_deltas() is none)) }}
{% endmacro %}

{#- The stored int_variant_metric_daily_deltas (read by int_refresh_cap_corrections before the model is rebuilt, by
    name: a ref would be a cycle), or none when it does not exist yet or has no `cap` column. -#}
{% macro exptrack_stored_deltas() %}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {%- set relation = adapter.get_relation(
        database=this.database, schema=this.schema, identifier='int_variant_metric_daily_deltas'
    ) -%}
    {%- if relation is none -%}{{ return(none) }}{%- endif -%}
    {%- set names = exptrack_columns(relation) | map(attribute='name') | map('lower') | list -%}
    {{ return(relation if 'cap' in names else none) }}
{% endmacro %}

{#- The pre-hook of int_variant_metric_daily_deltas: delete the rows of its scope and the rows
    int_refresh_cap_corrections replaces (every other day of a metric whose cap moved). -#}
{% macro exptrack_delete_delta_scope() %}
    {%- if is_incremental() and exptrack_deletes_refresh_scope() -%}
        {%- set condition -%}
            {{ exptrack_in_delta_scope('refreshed') }}
            or exists (
                select 1 from {{ ref('int_refresh_cap_corrections') }} as corrected
                where corrected.experiment_id = refreshed.experiment_id
                    and corrected.metric_id = refreshed.metric_id
                    and corrected.variant = refreshed.variant
                    and corrected.analysis_date = refreshed.analysis_date
            )
        {%- endset -%}
        {{ exptrack_delete_where(this, 'refreshed', condition) }}
    {%- endif -%}
{% endmacro %}

{#- A unit's running totals through each of its days (int_unit_metric_daily rows read through `alias`): the numerator
    and the denominator summed over the unit's days up to and including the row's day. With `starting_totals`, the rows
    are only the unit's later days and carry `numerator_before` / `denominator_before`, its totals over the days before
    them (int_variant_metric_daily_deltas: a sum per unit over the history, a window over the rebuilt days only). -#}
{% macro exptrack_unit_running_totals(alias, starting_totals=false) -%}
    {%- for part in ('numerator', 'denominator') %}
    {% if starting_totals %}{{ alias }}.{{ part }}_before + {% endif -%}
    sum({{ alias }}.{{ part }}_amount) over (
        partition by {{ alias }}.experiment_id, {{ alias }}.metric_id, {{ alias }}.user_id
        order by {{ alias }}.activity_date
        rows between unbounded preceding and current row
    ) as {{ part }}_total{{ "," if not loop.last }}
    {%- endfor %}
{%- endmacro %}
