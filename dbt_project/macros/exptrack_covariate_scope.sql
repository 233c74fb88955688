{#- The refresh scope of int_unit_metric_covariates: scope 'unit' (macros/exptrack_refresh_scope.sql) narrowed to the
    units whose pre-period rows can have changed. A covariate sums the unit's rows of int_unit_metric_pre_period, which
    change only in the partitions this run rebuilds (their rows now, and the rows they replaced:
    int_refresh_replaced_units, read before the partition tables were rebuilt) and for a unit whose assignment changed
    (int_assignment_changes); scope 'unit' also lists every unit active in a rebuilt partition (int_refresh_units: at
    100M events on day 30, 0.57M units, nearly all exposed earlier, whose pre-period is unchanged). Changed metrics and
    experiments and scope all as in scope 'unit'. The pre-hook deletes and the model selects the same units. -#}
{% macro exptrack_in_covariate_scope(alias) -%}
    {%- set rebuild_all, since = exptrack_refresh_since() -%}
    {%- set changed = exptrack_refresh_changed_keys() if not rebuild_all else {'metric': [], 'experiment': []} -%}
    (
        {{ "true" if rebuild_all else "false" }}
        {%- if changed['metric'] %}
        or {{ alias }}.metric_id in ({{ exptrack_sql_strings(changed['metric']) }})
        {%- endif %}
        {%- if changed['experiment'] %}
        or {{ alias }}.experiment_id in ({{ exptrack_sql_strings(changed['experiment']) }})
        {%- endif %}
        {%- if not rebuild_all %}
        or exists (
            select 1
            from (
                select experiment_id, metric_id, user_id from {{ ref('int_refresh_replaced_units') }}
                union all
                select changed_units.experiment_id, experiment_metrics.metric_id, changed_units.user_id
                from {{ ref('int_assignment_changes') }} as changed_units
                inner join {{ ref('stg_experiment_metrics') }} as experiment_metrics
                    on changed_units.experiment_id = experiment_metrics.experiment_id
                {%- if since is not none %}
                union all
                select experiment_id, metric_id, user_id from {{ ref('int_unit_metric_pre_period') }}
                where partition_date >= cast('{{ since }}' as date)
                {%- endif %}
            ) as changed_units
            where changed_units.experiment_id = {{ alias }}.experiment_id
                and changed_units.metric_id = {{ alias }}.metric_id
                and changed_units.user_id = {{ alias }}.user_id
        )
        {%- endif %}
    )
{%- endmacro %}

{#- The pre-hook of int_unit_metric_covariates: delete the rows of its scope, which the model then selects anew. -#}
{% macro exptrack_delete_covariate_scope() %}
    {%- if is_incremental() and exptrack_deletes_refresh_scope() -%}
        {{ exptrack_delete_where(this, 'refreshed', exptrack_in_covariate_scope('refreshed')) }}
    {%- endif -%}
{% endmacro %}
