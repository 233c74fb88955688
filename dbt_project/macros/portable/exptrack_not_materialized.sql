{#- A CTE hint: `with events as {{ exptrack_not_materialized() }} (...)` lets the engine inline a CTE that a model reads
    more than once, instead of materializing it.

    DuckDB (like PostgreSQL 12+) materializes a CTE referenced more than once: every row of it is written to a
    temporary buffer, and no filter or column projection of a reader reaches the scan below it. For a CTE that is a
    plain (filtered) read of a table that is the wrong trade: at 100M events int_events_deduplicated took 122 s with
    its `events` materialized and 36 s inlined (EXPLAIN ANALYZE). Use it only where reading again is cheaper than a
    copy (a column scan with a filter); measure: int_retention_active_days' events (a view resolving identities)
    took 60 s inlined against 36 s materialized (it now reads them once: docs/incremental.md, "The backfill's
    passes").
    Spark has no syntax for the hint (its optimizer decides): nothing there. -#}
{% macro exptrack_not_materialized() %}
    {{- return(adapter.dispatch('exptrack_not_materialized', 'exptrack')()) -}}
{% endmacro %}

{% macro default__exptrack_not_materialized() %}{% endmacro %}

{% macro duckdb__exptrack_not_materialized() %}not materialized{% endmacro %}

{% macro postgres__exptrack_not_materialized() %}not materialized{% endmacro %}
