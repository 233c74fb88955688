{#- `select generated_number from ...`: the integers 1..upper_bound as a BIGINT column on every warehouse.

    dbt.generate_series is BIGINT on DuckDB (its native range) but DOUBLE PRECISION on PostgreSQL (dbt's default
    implementation sums power(2, i) terms), so day offsets computed from it (fct_retention_cohorts.day_since_exposure)
    came out as floats on PostgreSQL. This wrapper pins the type; on PostgreSQL it uses the native generate_series. -#}
{% macro exptrack_generate_series(upper_bound) %}
    {{ return(adapter.dispatch('exptrack_generate_series', 'exptrack')(upper_bound)) }}
{% endmacro %}

{% macro default__exptrack_generate_series(upper_bound) %}
    select cast(generated_number as {{ dbt.type_bigint() }}) as generated_number
    from ({{ dbt.generate_series(upper_bound) }}) as exptrack_series
{% endmacro %}

{% macro postgres__exptrack_generate_series(upper_bound) %}
    select cast(generated_number as bigint) as generated_number
    from generate_series(1, {{ upper_bound }}) as exptrack_series(generated_number)
{% endmacro %}


{#- `select day_offset from ...`: the day offsets 0..days-1 as BIGINT (for cohort × day grids). -#}
{% macro exptrack_day_offsets(days) %}
    select generated_number - 1 as day_offset
    from ({{ exptrack_generate_series(days) }}) as exptrack_days
{% endmacro %}

{#- Spark: the native range() table function (bigint column `id`), no power-of-two cross joins. -#}
{% macro spark__exptrack_generate_series(upper_bound) %}
    select cast(id as bigint) as generated_number
    from range(1, ({{ upper_bound }}) + 1)
{% endmacro %}
