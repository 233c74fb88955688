{% test exptrack_columns_valid(model, not_null=[], non_negative=[], accepted_values={}, scope=none) %}
{#- A model's column-shape rules in one test: one dbt node, one Dagster asset check
    (docs/incremental.md, "Column rules are grouped per model"). Rules, as dbt's own tests:
    - not_null: [columns] — no null (dbt's not_null);
    - non_negative: [columns] — no value below 0 (a null passes);
    - accepted_values: {column: [values]} — every non-null value among the values, compared as text (dbt's
      accepted_values with quote: true).
    `scope`: only the rows the run rebuilt (macros/exptrack_test_scope.sql), for the daily version of a test over a
    per-unit incremental table.
    Fails with one row per broken rule: the column, the rule, the number of offending rows and a sentence naming them
    ("column variant: 3 null rows"). An empty model passes. dbt's failure count (its "Got N results", Dagster's
    dagster_dbt/failed_row_count) is the offending rows summed over the broken rules, as dbt's own not_null counts
    null rows. -#}
{{ config(fail_calc='coalesce(sum(failing_rows), 0)') }}
{%- set rules = [] -%}
{%- for column in not_null -%}
    {%- do rules.append({'column': column, 'rule': 'not_null', 'what': 'null', 'broken': column ~ ' is null'}) -%}
{%- endfor -%}
{%- for column in non_negative -%}
    {%- do rules.append({'column': column, 'rule': 'non_negative', 'what': 'negative', 'broken': column ~ ' < 0'}) -%}
{%- endfor -%}
{%- for column, values in accepted_values.items() -%}
    {%- set quoted = [] -%}
    {%- for value in values -%}{%- do quoted.append("'" ~ value ~ "'") -%}{%- endfor -%}
    {%- do rules.append({
        'column': column, 'rule': 'accepted_values', 'what': 'unaccepted',
        'broken': column ~ ' not in (' ~ quoted | join(', ') ~ ')'
    }) -%}
{%- endfor -%}
{%- if not rules -%}
    {{ exceptions.raise_compiler_error(
        "exptrack_columns_valid on " ~ model ~ " names no rule: give not_null, non_negative or accepted_values"
    ) }}
{%- endif %}
{%- if scope is none %}
{#- A whole model: one filtered count per rule, so the engine can answer each from its storage statistics (DuckDB
    skips row groups whose null counts / min-max rule the filter out; a view passes the filter down to its scan),
    as dbt's own not_null does: a single sum(case ...) over every row would read every column of every row. -#}
with per_rule as (
    {%- for rule in rules %}
    select
        '{{ rule.column }}' as column_name,
        '{{ rule.rule }}' as rule_name,
        '{{ rule.what }}' as what,
        count(*) as failing_rows
    from {{ model }}
    where {{ rule.broken }}
    {{ "union all" if not loop.last }}
    {%- endfor %}
)
{%- else %}
{#- The run's scope of a per-unit table: its rows are found by a join, not by statistics, so one pass counts every
    rule over them. -#}
with counted as (
    select
    {%- for rule in rules %}
        sum(case when {{ rule.broken }} then 1 else 0 end) as broken_{{ loop.index }}{{ "," if not loop.last }}
    {%- endfor %}
    from {{ exptrack_rows_in_test_scope(model, scope) }}
),

rules as (
    {%- for rule in rules %}
    select
        {{ loop.index }} as rule_number,
        '{{ rule.column }}' as column_name,
        '{{ rule.rule }}' as rule_name,
        '{{ rule.what }}' as what
    {{ "union all" if not loop.last }}
    {%- endfor %}
),

per_rule as (
    select
        rules.column_name,
        rules.rule_name,
        rules.what,
        case rules.rule_number
            {%- for rule in rules %}
            when {{ loop.index }} then counted.broken_{{ loop.index }}
            {%- endfor %}
        end as failing_rows
    from counted
    cross join rules
)
{%- endif %}

select
    column_name,
    rule_name as rule,
    failing_rows,
    {{ dbt.concat([
        "'column '", "column_name", "': '", "cast(failing_rows as " ~ dbt.type_string() ~ ")",
        "' '", "what", "' rows'"
    ]) }} as failure
from per_rule
where failing_rows > 0
{% endtest %}
