{#- The refresh scope of int_novelty_unit_periods (per experiment × primary metric × unit, read through `alias`, which
    has the unit's exposure_date and period_days). A unit's periods cover its first 2k days since exposure only, so a
    change to its unit-days from a day after them (int_refresh_units.since_date > exposure + 2k − 1: an old unit
    active on the new day) leaves them as they are; an assignment change starts no later than the old and the new
    exposure date, so it is always in. Otherwise as exptrack_in_unit_value_scope: a changed metric or experiment, a
    metric whose every value moved (a moved cap: int_refresh_metric_dates from the first day), and the units whose late
    period closed between the old and the new last analysis date (exptrack_novelty_units_moved). Without a previous
    state of the dates (int_refresh_value_dates): every row. -#}
{% macro exptrack_in_novelty_scope(alias) -%}
    {%- set rebuild_all, since = exptrack_refresh_since() -%}
    {%- set changes = ref('int_refresh_scope') -%}
    (
        {{ "true" if rebuild_all or exptrack_value_state_missing() else "false" }}
        or {{ alias }}.metric_id in (select scope_key from {{ changes }} where scope_kind = 'metric')
        or {{ alias }}.experiment_id in (select scope_key from {{ changes }} where scope_kind = 'experiment')
        or exists (
            select 1 from {{ ref('int_refresh_units') }} as changed_units
            where changed_units.experiment_id = {{ alias }}.experiment_id
                and changed_units.metric_id = {{ alias }}.metric_id
                and changed_units.user_id = {{ alias }}.user_id
                and changed_units.since_date <= {{ exptrack_novelty_observed_from(alias) }}
        )
        or exists (
            select 1 from {{ ref('int_refresh_metric_dates') }} as whole_metrics
            where whole_metrics.experiment_id = {{ alias }}.experiment_id
                and whole_metrics.metric_id = {{ alias }}.metric_id
                and whole_metrics.since_date <= cast('1900-01-01' as date)
        )
        or {{ exptrack_novelty_units_moved(alias) }}
    )
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
    (
        {{ "true" if rebuild_all or exptrack_value_state_missing() else "false" }}
        or exists (
            select 1 from {{ ref('int_refresh_novelty_days') }} as changed_days
            where changed_days.experiment_id = {{ alias }}.experiment_id
                and changed_days.exposure_date = {{ alias }}.exposure_date
        )
    )
{%- endmacro %}

{#- Pre-hook of int_novelty_exposure_day_sums: delete the exposure days of its scope. -#}
{% macro exptrack_delete_novelty_days_scope() %}
    {%- if is_incremental() and exptrack_deletes_refresh_scope() -%}
        {{ exptrack_delete_where(this, 'refreshed', exptrack_in_novelty_days_scope('refreshed')) }}
    {%- endif -%}
{% endmacro %}
