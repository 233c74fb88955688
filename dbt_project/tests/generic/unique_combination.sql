{% test unique_combination(model, columns, scope=none) %}
{#- Fails with one row per key that appears more than once. `scope`: only the rows the run rebuilt
    (macros/exptrack_test_scope.sql). -#}
select
    {{ columns | join(', ') }},
    count(*) as copies
from {{ exptrack_rows_in_test_scope(model, scope) }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
