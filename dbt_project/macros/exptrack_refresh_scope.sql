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
      partition rows changed, or its assignment did); with `unit_date_column` (a per-day model), only the unit's rows
      from its since_date on (its earlier days' inputs did not change).
    - 'metric_dates' (per experiment × metric × day models; columns experiment_id, metric_id, analysis_date): every
      row of a changed metric or experiment, and the rows from the earliest day a change touches on, per experiment
      and metric (int_refresh_metric_dates: a unit's running total changes from its earliest changed day on); the
      day is read from `date_column`.
    - 'activity_dates' (per experiment × day models; columns experiment_id, activity_date): the days of
      int_refresh_activity_dates (event dates of changed partitions, an experiment's days from a changed unit's
      exposure on, a changed experiment's every day).
    Scope 'all' (no state yet, the identity map changed) selects every row: a full rebuild, said in the scope table.
    What changed is read before the model runs and written in as literals (changed metrics and experiments as lists,
    each refresh table's earliest day as a bound), and a branch with nothing to select is left out: on an ordinary
    day the condition is a date bound the warehouse pushes into its scan (DuckDB skips row groups by their min/max),
    where an OR with a subquery over another table made it read every row of a history-long table. -#}
{% macro exptrack_in_refresh_scope(scope, alias, date_column='analysis_date', unit_date_column=none) -%}
    {%- set rebuild_all, since = exptrack_refresh_since() -%}
    {%- set changed = exptrack_refresh_changed_keys() if not rebuild_all else {'metric': [], 'experiment': []} -%}
    {%- set unit_tables = {
        'unit_metric': ('int_assignment_changes', 'since_date'),
        'unit': ('int_refresh_units', 'since_date'),
        'metric_dates': ('int_refresh_metric_dates', 'since_date'),
        'activity_dates': ('int_refresh_activity_dates', 'from_date'),
    } -%}
    {%- set from_day = exptrack_refresh_min_date(*unit_tables[scope]) if scope in unit_tables and not rebuild_all else none -%}
    (
        {{ "true" if rebuild_all else "false" }}
        {%- if since is not none and scope in ('event_partition', 'unit_metric') %}
        or {{ alias }}.partition_date >= cast('{{ since }}' as date)
        {%- endif %}
        {%- if scope in ('unit_metric', 'unit', 'metric_dates') and changed['metric'] %}
        or {{ alias }}.metric_id in ({{ exptrack_sql_strings(changed['metric']) }})
        {%- endif %}
        {%- if scope != 'event_partition' and changed['experiment'] %}
        or {{ alias }}.experiment_id in ({{ exptrack_sql_strings(changed['experiment']) }})
        {%- endif %}
        {%- if from_day is none %}
        {%- elif scope == 'unit_metric' %}
        or exists (
            select 1 from {{ ref('int_assignment_changes') }} as changed_units
            where changed_units.experiment_id = {{ alias }}.experiment_id
                and changed_units.user_id = {{ alias }}.user_id
        )
        {%- elif scope == 'unit' %}
        or (
            {%- if unit_date_column %}
            {{ alias }}.{{ unit_date_column }} >= cast('{{ from_day }}' as date) and
            {%- endif %}
            exists (
                select 1 from {{ ref('int_refresh_units') }} as changed_units
                where changed_units.experiment_id = {{ alias }}.experiment_id
                    and changed_units.metric_id = {{ alias }}.metric_id
                    and changed_units.user_id = {{ alias }}.user_id
                    {%- if unit_date_column %}
                    and {{ alias }}.{{ unit_date_column }} >= changed_units.since_date
                    {%- endif %}
            )
        )
        {%- elif scope == 'metric_dates' %}
        or (
            {{ alias }}.{{ date_column }} >= cast('{{ from_day }}' as date)
            and exists (
                select 1 from {{ ref('int_refresh_metric_dates') }} as changed_dates
                where changed_dates.experiment_id = {{ alias }}.experiment_id
                    and changed_dates.metric_id = {{ alias }}.metric_id
                    and {{ alias }}.{{ date_column }} >= changed_dates.since_date
            )
        )
        {%- elif scope == 'activity_dates' %}
        or (
            {{ alias }}.activity_date >= cast('{{ from_day }}' as date)
            and exists (
                select 1 from {{ ref('int_refresh_activity_dates') }} as changed_days
                where (changed_days.experiment_id is null or changed_days.experiment_id = {{ alias }}.experiment_id)
                    and {{ alias }}.activity_date >= changed_days.from_date
                    and (changed_days.through_date is null or {{ alias }}.activity_date <= changed_days.through_date)
            )
        )
        {%- endif %}
    )
{%- endmacro %}

{#- The metrics and experiments int_refresh_scope says changed, read once per call and written into the SQL as
    literal lists: an empty list leaves its branch out, so on a day without registry changes the scope is a condition
    the warehouse can push into its scans (an OR with a subquery over another table cannot be). -#}
{% macro exptrack_refresh_changed_keys() %}
    {%- set keys, changes = {'metric': [], 'experiment': []}, ref('int_refresh_scope') -%}
    {%- if execute -%}
        {%- set found = exptrack_read_once(
            "select scope_kind, scope_key from " ~ changes
            ~ " where scope_kind in ('metric', 'experiment') order by scope_kind, scope_key",
            ['int_refresh_scope']
        ) -%}
        {%- for row in found -%}{%- do keys[row[0]].append(row[1]) -%}{%- endfor -%}
    {%- endif -%}
    {{ return(keys) }}
{% endmacro %}

{#- The earliest day (`column`) of a refresh table (`model`), or none when it has no rows (its branch of the scope is
    then left out) or the run is being parsed. -#}
{% macro exptrack_refresh_min_date(model, column) %}
    {%- set relation = ref(model) -%}  {#- at parse time too: the calling node depends on it -#}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {%- set found = exptrack_read_once("select cast(min(" ~ column ~ ") as date) from " ~ relation, [model]) -%}
    {{ return(found[0][0]) }}
{% endmacro %}

{#- A list of strings as SQL literals, quotes doubled. -#}
{% macro exptrack_sql_strings(values) -%}
    {%- for value in values %}'{{ value | replace("'", "''") }}'{{ ", " if not loop.last }}{% endfor -%}
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
    {%- set found = exptrack_read_once(
        "select count(case when scope_kind = 'all' then 1 end) as rebuild_all, "
        ~ "min(case when scope_kind = 'events' then since_date end) as since from " ~ ref('int_refresh_scope'),
        ['int_refresh_scope']
    ) -%}
    {{ return((found[0][0] > 0, found[0][1])) }}
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
{% macro exptrack_delete_refresh_scope(scope, unit_date_column=none) %}
    {%- if is_incremental() and exptrack_deletes_refresh_scope() -%}
        {{ exptrack_delete_where(
            this, 'refreshed', exptrack_in_refresh_scope(scope, 'refreshed', unit_date_column=unit_date_column)
        ) }}
    {%- endif -%}
{% endmacro %}

{#- The metric event amounts (int_metric_event_amounts, a view over every deduplicated event) a unit-level
    incremental model needs for its 'unit_metric' scope, as a select: a cheap superset of what the model then scopes
    exactly on its output rows. On an incremental run, up to three disjoint branches, each written only when it has
    something to read and each bounded by literals read once before the model runs, so the warehouse skips the other
    partitions' row groups (an OR with a correlated EXISTS over the view cannot be pushed below its identity joins:
    at 100M events it resolved every event on every run, ~40 s per model):
    - the changed partitions on (`since` of int_refresh_scope);
    - older partitions of a changed metric, or of a changed experiment's metrics (a metric reload reads its history);
    - older partitions' events of a unit whose assignment changed (int_assignment_changes: a new unit, a moved first
      exposure, a changed variant), from the earliest day such a change touches: its earlier exposure date, less the
      longest CUPED lookback of the catalog when `before_exposure` (the pre-period reads events before exposure;
      an event on or after a timestamp has a date on or after that timestamp's date).
    A first or full-refresh build reads every amount. -#}
{% macro exptrack_amounts_in_refresh_scope(before_exposure=false) -%}
    {%- set amounts = ref('int_metric_event_amounts') -%}
    {%- set rebuild_all, since = exptrack_refresh_since() if is_incremental() else (true, none) -%}
    {%- set metrics, units_from = exptrack_amounts_scope_keys(before_exposure) if not rebuild_all else ([], none) -%}
    {%- set older = "amounts.partition_date < cast('" ~ since ~ "' as date)" if since is not none else "true" -%}
    {%- set metric_list = exptrack_sql_strings(metrics) -%}
    {%- if rebuild_all %}
    select amounts.* from {{ amounts }} as amounts
    {%- else %}
    select amounts.* from {{ amounts }} as amounts where false
    {%- if since is not none %}
    union all
    select amounts.* from {{ amounts }} as amounts
    where amounts.partition_date >= cast('{{ since }}' as date)
    {%- endif %}
    {%- if metrics %}
    union all
    select amounts.* from {{ amounts }} as amounts
    where {{ older }} and amounts.metric_id in ({{ metric_list }})
    {%- endif %}
    {%- if units_from is not none %}
    union all
    select amounts.* from {{ amounts }} as amounts
    where {{ older }}
        {%- if metrics %}
        and amounts.metric_id not in ({{ metric_list }})
        {%- endif %}
        and amounts.event_date >= cast('{{ units_from }}' as date)
        and exists (
            select 1 from {{ ref('int_assignment_changes') }} as changed_units
            where changed_units.user_id = amounts.user_id
                and changed_units.unit_type = amounts.unit_type
        )
    {%- endif %}
    {%- endif %}
{%- endmacro %}

{#- What exptrack_amounts_in_refresh_scope reads beyond the changed partitions, read once per model run: the changed
    metrics (int_refresh_scope 'metric', and the metrics of a changed experiment), and the earliest event date a
    changed unit's amounts can have (none when no unit changed). -#}
{% macro exptrack_amounts_scope_keys(before_exposure) %}
    {%- set changes, unit_changes = ref('int_refresh_scope'), ref('int_assignment_changes') -%}
    {%- set experiment_metrics, catalog = ref('stg_experiment_metrics'), ref('stg_metrics') -%}
    {%- if not execute -%}{{ return(([], none)) }}{%- endif -%}
    {%- set metrics = run_query(
        "select scope_key from " ~ changes ~ " where scope_kind = 'metric' union select experiment_metrics.metric_id "
        ~ "from " ~ experiment_metrics ~ " as experiment_metrics inner join " ~ changes ~ " as changed "
        ~ "on experiment_metrics.experiment_id = changed.scope_key and changed.scope_kind = 'experiment'"
    ).columns[0].values() | sort -%}
    {%- set lookback = "max(lookback.days)" if before_exposure else "0" -%}
    {%- set found = run_query(
        "select cast(" ~ dbt.dateadd('day', '-1 * ' ~ lookback, 'min(changes.since_date)') ~ " as date) from "
        ~ unit_changes ~ " as changes cross join (select coalesce(max(cuped_lookback_days), 0) "
        ~ "as days from " ~ catalog ~ ") as lookback"
    ) -%}
    {{ return((metrics, found.rows[0][0])) }}
{% endmacro %}

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
