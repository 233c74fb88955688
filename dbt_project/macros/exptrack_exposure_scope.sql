{#- The refresh scope of the exposure-side incremental models (docs/incremental.md, "The exposure side"), as SQL
    conditions over a model's rows read through `alias`:
    - 'exposure_row' (one row per exposure: int_exposure_units, int_exposures_classified; columns partition_date,
      experiment_id): the rows of the changed exposure partitions (new, re-sent, late files: int_refresh_scope's
      `exposures` rows, written as literals) and of the changed experiments (a row's unit, exclusion reason and
      variant depend on its experiment's definition and on nothing else but the identity map).
    - 'exposure_unit' (one row per experiment × unit: int_first_exposures, int_assignments, int_unit_attributes,
      int_assignment_changes, int_refresh_assignments; columns experiment_id, user_id): every unit of
      int_refresh_exposure_units (it had or has a row in a changed exposure partition: its first exposure, variants
      and phase are recomputed from all its exposures) and every unit of int_refresh_exposure_experiments (the
      experiment's registry rows or its analysed phase changed).
    Scope 'all' (no state yet, the identity map changed) selects every row. -#}
{% macro exptrack_in_exposure_scope(scope, alias) -%}
    {%- set rebuild_all, partitions = exptrack_changed_exposure_partitions() -%}
    (
        {{ "true" if rebuild_all else "false" }}
        {%- if scope == 'exposure_row' %}
            {%- if partitions %}
        or {{ alias }}.partition_date in ({{ exptrack_date_literals(partitions) }})
            {%- endif %}
        or {{ alias }}.experiment_id in (
            select scope_key from {{ ref('int_refresh_scope') }} where scope_kind = 'experiment'
        )
        {%- elif scope == 'exposure_unit' %}
        or {{ alias }}.experiment_id in (select experiment_id from {{ ref('int_refresh_exposure_experiments') }})
        or exists (
            select 1 from {{ ref('int_refresh_exposure_units') }} as changed_units
            where changed_units.experiment_id = {{ alias }}.experiment_id
                and changed_units.user_id = {{ alias }}.user_id
        )
        {%- else %}
            {{ exceptions.raise_compiler_error("unknown exposure scope " ~ scope) }}
        {%- endif %}
    )
{%- endmacro %}

{#- The run's full-rebuild flag and its changed exposure partitions (a sorted list of dates), read from
    int_refresh_scope once per call. Without a scope table yet: a full rebuild. -#}
{% macro exptrack_changed_exposure_partitions() %}
    {%- set rebuild_all, since = exptrack_refresh_since() -%}
    {%- if not execute or rebuild_all -%}{{ return((rebuild_all, [])) }}{%- endif -%}
    {%- set found = exptrack_read_once(
        "select distinct since_date from " ~ ref('int_refresh_scope') ~ " where scope_kind = 'exposures' order by 1",
        ['int_refresh_scope']
    ) -%}
    {{ return((false, found | map(attribute=0) | list)) }}
{%- endmacro %}

{#- `days` as a comma-separated list of date literals. -#}
{% macro exptrack_date_literals(days) -%}
    {%- for day in days %}cast('{{ day }}' as date){{ ", " if not loop.last }}{% endfor -%}
{%- endmacro %}

{#- Pre-hook of an exposure-side incremental model: delete the rows of its scope, which the model then selects anew
    (exptrack_delete_refresh_scope's counterpart). Nothing on a first or --full-refresh build. -#}
{% macro exptrack_delete_exposure_scope(scope) %}
    {%- if is_incremental() and exptrack_deletes_refresh_scope() -%}
        {{ exptrack_delete_where(this, 'refreshed', exptrack_in_exposure_scope(scope, 'refreshed')) }}
    {%- endif -%}
{% endmacro %}
