{#- The refresh scope of an incremental run: which rows of an incremental model are rebuilt, derived from what changed
    since the last successful run (int_refresh_scope, int_assignment_changes), never from a fixed lookback.

    Scopes, as SQL conditions over the columns of a model's rows (read through `alias`):
    - 'event_partition' (per-event models, column partition_date): every row loaded from a partition on or after the
      earliest changed partition (a new day, a re-sent day, late data are a new or changed partition). A later
      partition is included because which copy of a repeated event id is the first can change with an earlier day.
    - 'unit_metric' (per experiment × metric × unit models; columns experiment_id, metric_id, user_id,
      partition_date): the above, plus every row of a changed or new metric (metric reload), of a changed or new
      experiment (dates, phases, variants, metrics, unit), and of a unit whose assignment changed (first exposure
      moved, became multi-variant, entered or left the analysed phase).
    - 'unit' (per experiment × metric × unit models summed over partitions; columns experiment_id, metric_id,
      user_id): every row of a changed metric or experiment, and every row of a unit listed in int_refresh_units (its
      partition rows changed, or its assignment did).
    - 'metric_dates' (per experiment × metric × day models; columns experiment_id, metric_id, analysis_date): every
      row of a changed metric or experiment, and the rows from the earliest day a change touches on, per experiment
      and metric (int_refresh_metric_dates: a unit's running total changes from its earliest changed day on); the
      day is read from `date_column`.
    - 'activity_dates' (per experiment × day models; columns experiment_id, activity_date): the days of
      int_refresh_activity_dates (event dates of changed partitions, an experiment's days from a changed unit's
      exposure on, a changed experiment's every day).
    Scope 'all' (no state yet, the identity map changed) selects every row: a full rebuild, said in the scope table. -#}
{% macro exptrack_in_refresh_scope(scope, alias, date_column='analysis_date') -%}
    {%- set changes = ref('int_refresh_scope') -%}
    {%- set rebuild_all, since = exptrack_refresh_since() -%}
    (
        {{ "true" if rebuild_all else "false" }}
        {%- if since is not none and scope in ('event_partition', 'unit_metric') %}
        or {{ alias }}.partition_date >= cast('{{ since }}' as date)
        {%- endif %}
        {%- if scope in ('unit_metric', 'unit', 'metric_dates') %}
        or {{ alias }}.metric_id in (select scope_key from {{ changes }} where scope_kind = 'metric')
        {%- endif %}
        {%- if scope != 'event_partition' %}
        or {{ alias }}.experiment_id in (select scope_key from {{ changes }} where scope_kind = 'experiment')
        {%- endif %}
        {%- if scope == 'unit_metric' %}
        or exists (
            select 1 from {{ ref('int_assignment_changes') }} as changed_units
            where changed_units.experiment_id = {{ alias }}.experiment_id
                and changed_units.user_id = {{ alias }}.user_id
        )
        {%- elif scope == 'unit' %}
        or exists (
            select 1 from {{ ref('int_refresh_units') }} as changed_units
            where changed_units.experiment_id = {{ alias }}.experiment_id
                and changed_units.metric_id = {{ alias }}.metric_id
                and changed_units.user_id = {{ alias }}.user_id
        )
        {%- elif scope == 'metric_dates' %}
        or exists (
            select 1 from {{ ref('int_refresh_metric_dates') }} as changed_dates
            where changed_dates.experiment_id = {{ alias }}.experiment_id
                and changed_dates.metric_id = {{ alias }}.metric_id
                and {{ alias }}.{{ date_column }} >= changed_dates.since_date
        )
        {%- elif scope == 'activity_dates' %}
        or exists (
            select 1 from {{ ref('int_refresh_activity_dates') }} as changed_days
            where (changed_days.experiment_id is null or changed_days.experiment_id = {{ alias }}.experiment_id)
                and {{ alias }}.activity_date >= changed_days.from_date
                and (changed_days.through_date is null or {{ alias }}.activity_date <= changed_days.through_date)
        )
        {%- endif %}
    )
{%- endmacro %}

{#- The run's full-rebuild flag and earliest changed partition (none when no partition changed), read from
    int_refresh_scope once per call and written into the SQL as literals, so the warehouse can skip the untouched
    partitions (DuckDB zone maps, PostgreSQL indexes / partitions). Without a scope table yet: a full rebuild. -#}
{% macro exptrack_refresh_since() %}
    {%- if not execute -%}{{ return((false, none)) }}{%- endif -%}
    {%- set scope = ref('int_refresh_scope') -%}
    {%- if adapter.get_relation(database=scope.database, schema=scope.schema, identifier=scope.identifier) is none -%}
        {{ return((true, none)) }}  {#- not built yet (e.g. `dbt compile` of a fresh warehouse): nothing to compare -#}
    {%- endif -%}
    {%- set found = run_query(
        "select count(case when scope_kind = 'all' then 1 end) as rebuild_all, "
        ~ "min(case when scope_kind = 'events' then since_date end) as since from " ~ ref('int_refresh_scope')
    ) -%}
    {{ return((found.rows[0][0] > 0, found.rows[0][1])) }}
{%- endmacro %}

{#- The events (their date read from `column`) an 'activity_dates' model recounts: a condition on the event date alone,
    with the days of int_refresh_activity_dates written as literals (read once), so the warehouse skips the other
    days' row groups. -#}
{% macro exptrack_event_dates_in_refresh_scope(column) -%}
    {%- set rebuild_all, since = exptrack_refresh_since() -%}
    {%- set open_from, days = none, [] -%}
    {%- if execute and not rebuild_all -%}
        {%- set found = run_query(
            "select min(from_date) from " ~ ref('int_refresh_activity_dates') ~ " where through_date is null"
        ) -%}
        {%- set open_from = found.rows[0][0] -%}
        {%- set listed = run_query(
            "select distinct from_date from " ~ ref('int_refresh_activity_dates') ~ " where through_date is not null"
        ) -%}
        {%- for row in listed.rows if open_from is none or row[0] < open_from -%}
            {%- do days.append(row[0]) -%}
        {%- endfor -%}
    {%- endif -%}
    (
        {{ "true" if rebuild_all else "false" }}
        {%- if open_from is not none %}
        or {{ column }} >= cast('{{ open_from }}' as date)
        {%- endif %}
        {%- if days %}
        or {{ column }} in ({% for day in days | sort %}cast('{{ day }}' as date){{ ", " if not loop.last }}{% endfor %})
        {%- endif %}
    )
{%- endmacro %}

{#- The (experiment, metric, unit) rows of the partition-level tables `by_partition` (int_unit_metric_daily_by_partition)
    and `pre_period` (int_unit_metric_pre_period) in the partitions from `since` on, each with the earliest day it
    touches (since_date): the activity day, or for pre-period amounts the unit's exposure day (int_assignments; a unit
    no longer analysed left through an assignment change, which int_refresh_units adds anyway). Read before the
    rebuild (int_refresh_replaced_units) and after it (int_refresh_units). -#}
{% macro exptrack_units_in_partitions(by_partition, pre_period, since) -%}
    select
        experiment_id,
        metric_id,
        user_id,
        activity_date as since_date
    from {{ by_partition }}
    where partition_date >= cast('{{ since }}' as date)
    union all
    select
        pre_period.experiment_id,
        pre_period.metric_id,
        pre_period.user_id,
        assignments.exposure_date as since_date
    from {{ pre_period }} as pre_period
    inner join {{ ref('int_assignments') }} as assignments
        on pre_period.experiment_id = assignments.experiment_id
        and pre_period.user_id = assignments.user_id
    where pre_period.partition_date >= cast('{{ since }}' as date)
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

{#- Guard of the refresh state models (int_refresh_state, int_refresh_assignments, int_refresh_caps): they record what
    the incremental models were brought up to date with, so they may only be built in the same dbt invocation as
    every model upstream of them (the incremental models, the scope they applied, the tables the state copies).
    Built alone (e.g. materialized by itself from the Dagster UI) a state model would move ahead of the incremental
    models and the next run would skip changes they never applied: the build fails instead, saying what to run.
    Views upstream may be left out: they hold no rows, so they cannot be stale (their parents are still required).
    (Checked on `dbt run` / `dbt build`; compiling, e.g. for sqlfluff, writes nothing.) -#}
{% macro exptrack_require_built_together() %}
    {%- if execute and flags.WHICH in ('run', 'build') -%}
        {%- set upstream, missing = model.depends_on.nodes | list, [] -%}
        {%- for node in upstream if node.startswith('model.') -%}
            {%- set is_view = graph.nodes[node].config.materialized == 'view' -%}
            {%- if node not in selected_resources and not is_view and node.split('.')[-1] not in missing -%}
                {%- do missing.append(node.split('.')[-1]) -%}
            {%- endif -%}
            {%- for parent in graph.nodes[node].depends_on.nodes if parent not in upstream -%}
                {%- do upstream.append(parent) -%}
            {%- endfor -%}
        {%- endfor -%}
        {%- if missing -%}
            {{ exceptions.raise_compiler_error(
                model.name ~ " records what the incremental models were brought up to date with, so it is only built "
                ~ "together with every model upstream of it; this run leaves out " ~ missing | sort | join(", ")
                ~ ". Run `exptrack run` (or materialize every dbt asset, or `dbt run --select +" ~ model.name
                ~ "`) instead."
            ) }}
        {%- endif -%}
    {%- endif -%}
{% endmacro %}
