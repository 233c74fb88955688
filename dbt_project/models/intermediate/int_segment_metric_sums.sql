{{
    config(
        materialized=exptrack_value_delta_materialization(),
        incremental_strategy='delete+insert',
        unique_key=exptrack_segment_group_columns(),
        pre_hook="{{ exptrack_clear_value_sums() }}",
        post_hook=["{{ exptrack_drop_empty_value_sums() }}", "{{ exptrack_prune_value_changes() }}"],
    )
}}
-- Sufficient statistics per experiment × metric × variant × segment (attribute, value) over the analysed units'
-- values (int_unit_metric_values × int_unit_attributes), kept by per-unit deltas (macros/exptrack_value_changes.sql):
-- a run adds the change log int_segment_value_changes to the stored sums and empties the log in the same
-- transaction. Rebuilt whole on a first or full build, on an engine without deltas (Spark) and when a unit table was
-- rebuilt whole (a marker in the log).
{%- set whole = exptrack_value_sums_whole(ref('int_segment_value_changes')) %}
{%- set groups = exptrack_segment_group_columns() %}

{% if whole %}
    with unit_values as (

        select * from {{ ref('int_unit_metric_values') }}

    ),

    unit_attributes as (

        select * from {{ ref('int_unit_attributes') }}

    )

    select
        unit_values.experiment_id,
        unit_values.metric_id,
        unit_values.variant,
        unit_attributes.attribute,
        unit_attributes.attribute_value,
        {{ exptrack_sufficient_statistics(
            'unit_values.metric_value', 'unit_values.denominator_value', 'unit_values.covariate',
            'unit_values.covariate_den'
        ) }}
    from unit_values
    inner join unit_attributes
        on unit_values.experiment_id = unit_attributes.experiment_id
        and unit_values.user_id = unit_attributes.user_id
    group by
        unit_values.experiment_id,
        unit_values.metric_id,
        unit_values.variant,
        unit_attributes.attribute,
        unit_attributes.attribute_value
{% else %}
    with stored_and_changes as (

        select {{ groups | join(', ') }}, {{ exptrack_sufficient_statistic_names() | join(', ') }}
        from {{ this }}
        union all
        select {{ groups | join(', ') }}, {{ exptrack_sufficient_statistic_names() | join(', ') }}
        from {{ ref('int_segment_value_changes') }}

    )

    -- every group is rewritten (a few thousand rows); one whose n reached 0 is dropped by the post-hook
    select
        {{ groups | join(', ') }},
        {%- for stat in exptrack_sufficient_statistic_names() %}
        cast(sum({{ stat }}) as {{ exptrack_sufficient_statistic_type(stat) }}) as {{ stat }}{{ "," if not loop.last }}
        {%- endfor %}
    from stored_and_changes
    group by {{ groups | join(', ') }}
{% endif %}
