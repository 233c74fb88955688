{#- What int_novelty_unit_periods' refresh scope (macros/exptrack_novelty_scope.sql) selects, read before the model runs
    and written into its SQL as literals, so the warehouse skips the row groups of exposure days no change reaches
    instead of testing every unit against correlated subqueries (an OR of EXISTS cannot be pushed into a scan: at 100M
    events the day-30 increment read every unit's periods, 0.3 s at day 10 → 5 s at day 30).

    A unit's periods cover its days [exposure, exposure + 2k − 1], k ≤ max_k (exptrack_novelty_max_period_days), so
    - a changed unit-day (int_refresh_units, since_date ≤ exposure + 2k − 1) reaches only units exposed on or after
      min(since_date) − (2·max_k − 1) (`units_from`; none when no primary metric's unit changed);
    - a moved last analysis date (int_refresh_analysis_dates: exposure + 2k − 1 in (after_date, through_date]) only
      units exposed on or after min(after_date) − (2·max_k − 1) (`moved_from`; none when no date moved);
    - changed experiments (int_refresh_scope), changed metrics and whole metrics (int_refresh_metric_dates from
      1900-01-01: a moved cap, a changed metric or experiment) that are an experiment's primary metric (the only
      metrics with periods) select every unit of theirs: literal lists, no bound.
    `all`: every row (a full rebuild, no previous state of the dates, or being parsed). Returned as a dict. -#}
{% macro exptrack_novelty_scope_bounds() %}
    {%- set bounds = {
        'all': true, 'metrics': [], 'experiments': [], 'whole': [], 'units_from': none, 'moved_from': none
    } -%}
    {%- set read = {
        'dates': ref('int_refresh_metric_dates'), 'units': ref('int_refresh_units'),
        'moved': ref('int_refresh_analysis_dates'), 'experiments': ref('stg_experiments'),
        'metrics': ref('stg_metrics'),
    } -%}  {#- at parse time too: the calling node depends on them -#}
    {%- if not execute -%}{{ return(bounds) }}{%- endif -%}
    {%- set rebuild_all, since = exptrack_refresh_since() -%}
    {%- if rebuild_all or exptrack_value_state_missing() -%}{{ return(bounds) }}{%- endif -%}
    {%- set changed = exptrack_refresh_changed_keys() -%}
    {%- set primaries = exptrack_read_once(
        "select distinct primary_metric_id from " ~ read['experiments'], ['stg_experiments']
    ) | map(attribute=0) | list -%}
    {%- do bounds.update({
        'all': false, 'experiments': changed['experiment'],
        'metrics': changed['metric'] | select('in', primaries) | list,
    }) -%}
    {%- set whole = exptrack_read_once(
        "select distinct dates.experiment_id, dates.metric_id from " ~ read['dates'] ~ " as dates inner join "
        ~ read['experiments'] ~ " as experiments on dates.experiment_id = experiments.experiment_id"
        ~ " and dates.metric_id = experiments.primary_metric_id"
        ~ " where dates.since_date <= cast('1900-01-01' as date) order by 1, 2",
        ['int_refresh_metric_dates', 'stg_experiments']
    ) -%}
    {%- for row in whole -%}{%- do bounds['whole'].append((row[0], row[1])) -%}{%- endfor -%}
    {%- set reach = 2 * exptrack_novelty_max_period_days() - 1 -%}
    {%- set found = exptrack_read_once(
        "select cast(" ~ dbt.dateadd('day', -1 * reach, 'min(units.since_date)') ~ " as date) from "
        ~ read['units'] ~ " as units inner join " ~ read['experiments'] ~ " as experiments "
        ~ "on units.experiment_id = experiments.experiment_id and units.metric_id = experiments.primary_metric_id",
        ['int_refresh_units', 'stg_experiments']
    ) -%}
    {%- do bounds.update({'units_from': found[0][0]}) -%}
    {%- set found = exptrack_read_once(
        "select cast(" ~ dbt.dateadd('day', -1 * reach, 'min(moved.after_date)') ~ " as date) from "
        ~ read['moved'] ~ " as moved",
        ['int_refresh_analysis_dates']
    ) -%}
    {%- do bounds.update({'moved_from': found[0][0]}) -%}
    {{ return(bounds) }}
{% endmacro %}

{#- The novelty period length k in days for a metric window of `window_days` days: at most 7 days, half the window
    (int_novelty_unit_periods; 2.0: int / int truncates on PostgreSQL). -#}
{% macro exptrack_novelty_period_days(window_days) -%}
    least(7, cast(floor({{ window_days }} / 2.0) as integer))
{%- endmacro %}

{#- The longest novelty period k of the experiments' primary metrics (int_novelty_unit_periods' primary_metrics:
    not retention, a window of at least 2 days), read once; 1 when there is none (no unit has periods then). -#}
{% macro exptrack_novelty_max_period_days() %}
    {%- set found = exptrack_read_once(
        "select max(" ~ exptrack_novelty_period_days('metrics.window_days') ~ ") from " ~ ref('stg_metrics')
        ~ " as metrics inner join " ~ ref('stg_experiments') ~ " as experiments"
        ~ " on experiments.primary_metric_id = metrics.metric_id"
        ~ " where metrics.metric_kind <> 'retention' and metrics.window_days >= 2",
        ['stg_metrics', 'stg_experiments']
    ) -%}
    {{ return((found[0][0] or 1) | int) }}
{% endmacro %}

{#- The earliest exposure day a unit of the scope `bounds` (exptrack_novelty_scope_bounds) can have, as a literal
    condition on `column`: `false` when nothing is in the scope, `true` when a list branch (no bound) or a full rebuild
    is. Used beside the exact scope, never instead of it. -#}
{% macro exptrack_novelty_exposure_bound(bounds, column) -%}
    {%- set froms = [bounds['units_from'], bounds['moved_from']] | reject('none') | list -%}
    {%- if bounds['all'] or bounds['metrics'] or bounds['experiments'] or bounds['whole'] -%}
        true
    {%- elif not froms -%}
        false
    {%- else -%}
        {{ column }} >= cast('{{ froms | min }}' as date)
    {%- endif -%}
{%- endmacro %}
