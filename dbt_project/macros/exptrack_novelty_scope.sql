{#- The refresh scope of int_novelty_unit_periods (per experiment × primary metric × unit, read through `alias`, which
    has the unit's exposure_date and period_days). A unit's periods cover its first 2k days since exposure only, so a
    change to its unit-days from a day after them (int_refresh_units.since_date > exposure + 2k − 1: an old unit
    active on the new day) leaves them as they are; an assignment change starts no later than the old and the new
    exposure date, so it is always in. Otherwise as exptrack_in_unit_value_scope: a changed metric or experiment, a
    metric whose every value moved (a moved cap: int_refresh_metric_dates from the first day), and the units whose late
    period closed between the old and the new last analysis date (exptrack_novelty_units_moved). Without a previous
    state of the dates (int_refresh_value_dates): every row.
    What changed is written in as literals (macros/exptrack_novelty_bounds.sql): changed metrics, experiments and
    whole metrics as lists, and the earliest exposure day each subquery branch can reach as a bound beside it and on
    the whole condition, so the warehouse skips older exposure days' row groups; nothing in scope reads no row.
    `bounds`: exptrack_novelty_scope_bounds() already read by the caller (its queries run once per model). -#}
{% macro exptrack_in_novelty_scope(alias, bounds=none) -%}
    {%- set bounds = exptrack_novelty_scope_bounds() if bounds is none else bounds -%}
    ((
        {{ "true" if bounds['all'] else "false" }}
        {%- if bounds['metrics'] %}
        or {{ alias }}.metric_id in ({{ exptrack_sql_strings(bounds['metrics']) }})
        {%- endif %}
        {%- if bounds['experiments'] %}
        or {{ alias }}.experiment_id in ({{ exptrack_sql_strings(bounds['experiments']) }})
        {%- endif %}
        {{- exptrack_in_pairs(bounds['whole'], alias) }}
        {%- if bounds['units_from'] is not none %}
        or (
            {{ alias }}.exposure_date >= cast('{{ bounds['units_from'] }}' as date)
            and exists (
                select 1 from {{ ref('int_refresh_units') }} as changed_units
                where changed_units.experiment_id = {{ alias }}.experiment_id
                    and changed_units.metric_id = {{ alias }}.metric_id
                    and changed_units.user_id = {{ alias }}.user_id
                    and changed_units.since_date <= {{ exptrack_novelty_observed_from(alias) }}
            )
        )
        {%- endif %}
        {%- if bounds['moved_from'] is not none %}
        or ({{ alias }}.exposure_date >= cast('{{ bounds['moved_from'] }}' as date)
            and {{ exptrack_novelty_units_moved(alias) }})
        {%- endif %}
    ) and {{ exptrack_novelty_exposure_bound(bounds, alias ~ '.exposure_date') }})
{%- endmacro %}

{#- Pre-hook of int_novelty_unit_periods: delete the rows of its scope (nothing on a first or full build). -#}
{% macro exptrack_delete_novelty_scope() %}
    {%- if is_incremental() and exptrack_deletes_refresh_scope() -%}
        {{ exptrack_delete_where(this, 'refreshed', exptrack_in_novelty_scope('refreshed')) }}
    {%- endif -%}
{% endmacro %}

{#- The exposure days of lifecycle's novelty sums (int_novelty_exposure_day_sums, read through `alias`: experiment_id,
    exposure_date) this run re-sums: the days of the unit periods int_novelty_unit_periods replaced
    (int_refresh_novelty_days: before and after its rebuild); every day on a full rebuild (scope all) or without a
    previous state of the dates (a day whose every unit left is then gone too). -#}
{% macro exptrack_in_novelty_days_scope(alias) -%}
    {%- set rebuild_all, since = exptrack_refresh_since() -%}
    {%- set everything = rebuild_all or exptrack_value_state_missing() -%}
    {%- set days = 'int_refresh_novelty_days' -%}
    {%- set from_day = none if everything else exptrack_refresh_min_date(days, 'exposure_date') -%}
    (
        {{ "true" if everything else "false" }}
        {%- if from_day is not none %}
        or (
            {#- a literal: the row groups of older exposure days are skipped #}
            {{ alias }}.exposure_date >= cast('{{ from_day }}' as date)
            and exists (
                select 1 from {{ ref('int_refresh_novelty_days') }} as changed_days
                where changed_days.experiment_id = {{ alias }}.experiment_id
                    and changed_days.exposure_date = {{ alias }}.exposure_date
            )
        )
        {%- endif %}
    )
{%- endmacro %}

{#- Pre-hook of int_novelty_exposure_day_sums: delete the exposure days of its scope. -#}
{% macro exptrack_delete_novelty_days_scope() %}
    {%- if is_incremental() and exptrack_deletes_refresh_scope() -%}
        {{ exptrack_delete_where(this, 'refreshed', exptrack_in_novelty_days_scope('refreshed')) }}
    {%- endif -%}
{% endmacro %}
