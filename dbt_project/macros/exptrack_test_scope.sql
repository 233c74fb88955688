{#- Daily data tests that check what the run wrote (docs/incremental.md, "dbt tests on a daily run").

    A uniqueness or not-null test over a per-unit incremental table costs a pass over every unit ever exposed,
    whatever the day added. An incremental run deletes its scope's rows and appends them anew (the pre-hooks of
    exptrack_refresh_scope.sql, exptrack_exposure_scope.sql, exptrack_unit_value_scope.sql); a row outside the scope is
    the row an earlier, tested run wrote. So a daily test needs to read only the rows in the run's scope: every key
    the scope condition selects is a key whose every row was rebuilt (the conditions are functions of the table's key
    columns: experiment × unit, or experiment × metric × unit), and a duplicate or a null can only be among them.

    Such a test takes the scope as its `scope` argument (generic tests unique_combination and exptrack_columns_valid,
    tests/generic/; tag `exptrack_daily_scope`); its full version (tag `exptrack_full_scan`) runs on a backfill, a full
    refresh and `--all-tests` (exptrack_pipeline/defs/dbt/selection.py). The scope condition is read from the same
    scope tables the model's pre-hook read: they are upstream of the model, so the test (run right after the model,
    before anything downstream) sees them as the model did. Scopes (the model's pre-hook):
    - 'exposure_unit' (exptrack_delete_exposure_scope('exposure_unit')): int_first_exposures, int_assignments,
      int_unit_attributes;
    - 'unit' (exptrack_delete_refresh_scope('unit')): int_unit_metric_covariates;
    - 'unit_value' (exptrack_delete_unit_value_scope()): int_unit_metric_values;
    - 'novelty_unit' (exptrack_delete_unit_value_scope(exptrack_novelty_units_moved(...))): int_novelty_unit_periods.
-#}
{% macro exptrack_rows_in_test_scope(model, scope) -%}
    {%- if scope is none -%}
        {{ model }}
    {%- else -%}
        (select * from {{ model }} as scoped where {{ exptrack_test_scope(scope, 'scoped') }}) as scoped_rows
    {%- endif -%}
{%- endmacro %}

{#- The rows of a per-unit incremental model (read through `alias`) that the run's scope `scope` rebuilt (above).
    int_refresh_scope is named here because the scope macros read it only when executing (dbt records a test's
    dependencies while parsing); the other scope tables they name in any case. -#}
{% macro exptrack_test_scope(scope, alias) -%}
    {%- do ref('int_refresh_scope') -%}
    {%- if scope == 'exposure_unit' -%}
        {{ exptrack_in_exposure_scope('exposure_unit', alias) }}
    {%- elif scope == 'unit' -%}
        {{ exptrack_in_refresh_scope('unit', alias) }}
    {%- elif scope == 'unit_value' -%}
        {{ exptrack_in_unit_value_scope(alias) }}
    {%- elif scope == 'novelty_unit' -%}
        {{ exptrack_in_unit_value_scope(alias, exptrack_novelty_units_moved(alias)) }}
    {%- else -%}
        {{ exceptions.raise_compiler_error(
            "unknown test scope '" ~ scope ~ "' (argument scope of a data test): one of exposure_unit, unit, "
            ~ "unit_value, novelty_unit (dbt_project/macros/exptrack_test_scope.sql)"
        ) }}
    {%- endif -%}
{%- endmacro %}
