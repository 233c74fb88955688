{% test not_null_in_run_scope(model, column_name, scope) %}
{#- dbt's not_null over the rows the run rebuilt (macros/exptrack_test_scope.sql). -#}
select {{ column_name }}
from {{ exptrack_rows_in_test_scope(model, scope) }}
where {{ column_name }} is null
{% endtest %}
