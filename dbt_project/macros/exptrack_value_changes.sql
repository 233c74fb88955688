{#- Per-unit deltas of the segment sums (docs/incremental.md, "Per-unit deltas of the segment sums").

    fct_segment_metric_stats sums every analysed unit's value (int_unit_metric_values) per segment of
    int_unit_attributes. Its sufficient statistics are additive, so a group's new sums are the stored ones minus the
    old contributions of the units that changed plus their new ones. The two tables change only in their models'
    hooks (the re-cap UPDATE and the scope's DELETE, then dbt's append), so those hooks write the change into a log,
    int_segment_value_changes, in the same transaction as the change itself: before it, the contributions of the rows
    about to change (sign -1), after it their new ones (+1), aggregated per segment group. int_segment_metric_sums adds
    the log to its stored sums and empties the log in its own transaction, so a run failing between the unit table and
    the sums leaves the log for the next run (nothing lost), and a log row is applied exactly once.
    A unit's contribution is its value rows × its attribute rows: int_unit_metric_values runs after
    int_unit_attributes (a depends_on), and each logs against the other's current rows, so the steps telescope
    (−V0·A0 + V0·A1 by the attributes, −V0·A1 + V1·A1 by the values).
    A table rebuilt whole (first build, --full-refresh, no previous state) writes a marker row (`is_rebuild`) instead:
    the sums are then rebuilt whole. Spark (parquet: no UPDATE or DELETE) keeps the whole rebuild on every run. -#}

{#- Whether the engine keeps the segment sums by per-unit deltas (a log and DELETEs); otherwise they are a table
    rebuilt from every unit value on every run. -#}
{% macro exptrack_keeps_value_deltas() %}
    {{ return(adapter.dispatch('exptrack_keeps_value_deltas', 'exptrack')()) }}
{% endmacro %}

{% macro default__exptrack_keeps_value_deltas() %}{{ return(true) }}{% endmacro %}

{% macro spark__exptrack_keeps_value_deltas() %}{{ return(false) }}{% endmacro %}

{#- The materialization of the change log and the sums: incremental where deltas are kept, else a table. -#}
{% macro exptrack_value_delta_materialization() %}
    {{ return('incremental' if exptrack_keeps_value_deltas() else 'table') }}
{% endmacro %}

{#- The key of a segment group. -#}
{% macro exptrack_segment_group_columns() %}
    {{ return(['experiment_id', 'metric_id', 'variant', 'attribute', 'attribute_value']) }}
{% endmacro %}

{#- Whether the change log holds a marker: a unit table was rebuilt whole since the sums were last brought up to date
    (read in the current transaction, so a marker this model's pre-hook wrote counts). -#}
{% macro exptrack_value_changes_marked(changes) %}
    {%- if not execute -%}{{ return(true) }}{%- endif -%}
    {%- set found = run_query("select count(*) from " ~ changes ~ " where is_rebuild") -%}
    {{ return(found.rows[0][0] > 0) }}
{% endmacro %}

{#- Whether int_segment_metric_sums is rebuilt whole on this run: a first or full build, an engine without deltas, or
    a unit table rebuilt whole (a marker in the log). -#}
{% macro exptrack_value_sums_whole(changes) %}
    {%- if not is_incremental() or not exptrack_keeps_value_deltas() -%}{{ return(true) }}{%- endif -%}
    {{ return(exptrack_value_changes_marked(changes)) }}
{% endmacro %}

{#- The marker row: the sums must be rebuilt whole. -#}
{% macro exptrack_mark_value_rebuild() -%}
    insert into {{ ref('int_segment_value_changes') }} (is_rebuild, n) values (true, 0)
{%- endmacro %}

{#- Insert into the log the segment contributions of `unit_rows` (a subquery of int_unit_metric_values' columns
    plus `change_sign`), joined with the attribute rows of `attributes`, aggregated per segment group. -#}
{% macro exptrack_log_segment_changes(unit_rows, attributes) -%}
    {%- set groups = exptrack_segment_group_columns() -%}
    insert into {{ ref('int_segment_value_changes') }} (
        {{ groups | join(', ') }}, is_rebuild, {{ exptrack_sufficient_statistic_names() | join(', ') }}
    )
    select
        unit_rows.experiment_id,
        unit_rows.metric_id,
        unit_rows.variant,
        unit_attributes.attribute,
        unit_attributes.attribute_value,
        false as is_rebuild,
        {{ exptrack_sufficient_statistics(
            'unit_rows.metric_value', 'unit_rows.denominator_value', 'unit_rows.covariate', 'unit_rows.covariate_den',
            sign='unit_rows.change_sign'
        ) }}
    from {{ unit_rows }} as unit_rows
    inner join {{ attributes }} as unit_attributes
        on unit_rows.experiment_id = unit_attributes.experiment_id
        and unit_rows.user_id = unit_attributes.user_id
    group by
        unit_rows.experiment_id,
        unit_rows.metric_id,
        unit_rows.variant,
        unit_attributes.attribute,
        unit_attributes.attribute_value
{%- endmacro %}

{#- Pre-hook of int_unit_metric_values, first (before the re-cap): on a whole build a marker; else the rows the
    re-cap is about to update, their old value out (-1) and their re-capped value in (+1). -#}
{% macro exptrack_log_unit_value_recap() %}
    {%- if exptrack_keeps_value_deltas() -%}
        {%- if not is_incremental() or exptrack_value_state_missing() or exptrack_stored_unit_values() is none -%}
            {{ exptrack_mark_value_rebuild() }}
        {%- elif exptrack_recaps_this_run() -%}
            {%- set unit_rows -%}
                (
                    select
                        stored.experiment_id,
                        stored.metric_id,
                        stored.variant,
                        stored.user_id,
                        case
                            when signs.change_sign < 0 then stored.metric_value
                            else {{ exptrack_recapped_value('stored', 'moved_caps') }}
                        end as metric_value,
                        stored.denominator_value,
                        stored.covariate,
                        stored.covariate_den,
                        signs.change_sign
                    from {{ exptrack_stored_unit_values() }} as stored
                    inner join {{ exptrack_moved_caps() }} as moved_caps
                        on {{ exptrack_recapped_row('stored', 'moved_caps') }}
                    cross join (
                        select cast(-1 as {{ dbt.type_bigint() }}) as change_sign
                        union all
                        select cast(1 as {{ dbt.type_bigint() }}) as change_sign
                    ) as signs
                )
            {%- endset -%}
            {{ exptrack_log_segment_changes(unit_rows, ref('int_unit_attributes')) }}
        {%- endif -%}
    {%- endif -%}
{% endmacro %}

{#- Hooks of int_unit_metric_values around the scope's DELETE and append: the rows of the recomputed scope (the same
    predicate as the delete and the select), before (-1) and after (+1). Nothing on a whole build (its marker).
    After the append the scope's rows are exactly the rows the model selected: where the materialization staged them
    in a temporary table (exptrack_staged_new_rows: DuckDB, PostgreSQL) they are read there, not found again by the
    scope's predicate over every stored row (issue 16: that second scan of the whole table cost ~1 s at 100M). -#}
{% macro exptrack_log_unit_value_scope(sign) %}
    {%- if exptrack_keeps_value_deltas() and is_incremental()
        and not exptrack_value_changes_marked(ref('int_segment_value_changes')) -%}
        {%- set recap = exptrack_recaps_unit_values() -%}
        {%- set staged = exptrack_staged_new_rows() if sign > 0 else none -%}
        {%- set rows_where = (staged ~ ' as refreshed') if staged is not none
            else (this ~ ' as refreshed where ' ~ exptrack_in_unit_value_scope('refreshed', none, recap)) -%}
        {{ exptrack_log_segment_changes(
            '(select refreshed.experiment_id, refreshed.metric_id, refreshed.variant, refreshed.user_id,'
            ~ ' refreshed.metric_value, refreshed.denominator_value, refreshed.covariate, refreshed.covariate_den,'
            ~ ' cast(' ~ sign ~ ' as ' ~ dbt.type_bigint() ~ ') as change_sign from ' ~ rows_where ~ ')',
            ref('int_unit_attributes')
        ) }}
    {%- endif -%}
{% endmacro %}

{#- Hooks of int_unit_attributes around its scope's DELETE and append: the current unit values of the units of its
    scope (exposure_unit: per experiment × unit) joined with their attribute rows before (-1) and after (+1). A
    marker instead on a whole build. Nothing while int_unit_metric_values does not exist (its first build marks). -#}
{% macro exptrack_log_attribute_scope(sign) %}
    {%- if exptrack_keeps_value_deltas() -%}
        {%- set rebuild_all, partitions = exptrack_changed_exposure_partitions() -%}
        {%- set values = adapter.get_relation(
            database=this.database, schema=this.schema, identifier='int_unit_metric_values'
        ) if execute else none -%}
        {%- if sign < 0 and (not is_incremental() or rebuild_all) -%}
            {{ exptrack_mark_value_rebuild() }}
        {%- elif values is not none and is_incremental()
            and not exptrack_value_changes_marked(ref('int_segment_value_changes')) -%}
            {{ exptrack_log_segment_changes(
                '(select unit_values.experiment_id, unit_values.metric_id, unit_values.variant, unit_values.user_id,'
                ~ ' unit_values.metric_value, unit_values.denominator_value, unit_values.covariate,'
                ~ ' unit_values.covariate_den, cast(' ~ sign ~ ' as ' ~ dbt.type_bigint() ~ ') as change_sign from '
                ~ values ~ ' as unit_values where ' ~ exptrack_in_exposure_scope('exposure_unit', 'unit_values') ~ ')',
                this
            ) }}
        {%- endif -%}
    {%- endif -%}
{% endmacro %}

{#- Pre-hook of int_segment_metric_sums: on a whole rebuild of an existing table, every stored row goes. -#}
{% macro exptrack_clear_value_sums() %}
    {%- if exptrack_keeps_value_deltas() and is_incremental()
        and exptrack_value_sums_whole(ref('int_segment_value_changes')) -%}
        delete from {{ this }}
    {%- endif -%}
{% endmacro %}

{#- Post-hooks of int_segment_metric_sums, in its transaction: a group whose n reached 0 goes (a full build has no
    such row), and the applied log is emptied. -#}
{% macro exptrack_drop_empty_value_sums() %}
    {%- if exptrack_keeps_value_deltas() -%}delete from {{ this }} where n = 0{%- endif -%}
{% endmacro %}

{% macro exptrack_prune_value_changes() %}
    {%- if exptrack_keeps_value_deltas() -%}delete from {{ ref('int_segment_value_changes') }}{%- endif -%}
{% endmacro %}
