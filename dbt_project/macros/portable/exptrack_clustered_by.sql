{#- The end of a model's select that writes its rows clustered by `columns`: `{{ exptrack_clustered_by(['metric_id',
    'experiment_id']) }}` after the last clause.

    DuckDB keeps a min/max per column and row group (~122K rows) and skips the row groups a filter excludes, including
    the filters it derives from a join's small side (the moved metrics' pairs, the percentile-capped metrics). A table
    written by a hash aggregate mixes every metric in every row group, so each such read scans the whole table. Rows
    written in (metric, experiment) order keep a metric's rows in its own row groups; a daily run appends its rows in
    that order too. int_unit_metric_daily at 100M events (23.4M rows, day 30), sorted by (metric_id, experiment_id)
    against as written: int_metric_caps 3.5 -> 1.4 CPU-s, int_refresh_cap_corrections 6.6 -> 3.0,
    int_novelty_unit_periods 3.5 -> 2.4, int_unit_metric_values 7.4 -> 6.2, mon_variant_metric_daily 1.5 -> 0.9;
    the sort costs the backfill ~18 CPU-s once. int_unit_metric_values (8.1M rows) the same way:
    lifecycle_interaction_stats 3.2 -> 1.2 CPU-s, for ~9 CPU-s of the backfill (docs/incremental.md, BENCHMARKS.md).
    PostgreSQL (no such skipping without an index) and Spark (sorting a write costs a shuffle) write rows as they come:
    nothing there. -#}
{% macro exptrack_clustered_by(columns) %}
    {{- return(adapter.dispatch('exptrack_clustered_by', 'exptrack')(columns)) -}}
{% endmacro %}

{% macro default__exptrack_clustered_by(columns) %}{% endmacro %}

{% macro duckdb__exptrack_clustered_by(columns) %}order by {{ columns | join(', ') }}{% endmacro %}
