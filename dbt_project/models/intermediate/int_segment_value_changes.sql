{{
    config(
        materialized=exptrack_value_delta_materialization(),
        incremental_strategy=exptrack_incremental_strategy(),
        full_refresh=false,
    )
}}
-- The change log of the segment sums (macros/exptrack_value_changes.sql): the hooks of int_unit_metric_values and
-- int_unit_attributes insert, in the transaction of their change, the segment contributions of the rows about to
-- change (sign -1: n and every sum negated) and of their new rows (+1), aggregated per segment group; a marker row
-- (`is_rebuild`) when a unit table is rebuilt whole. int_segment_metric_sums applies and empties it. Built empty:
-- never rebuilt by --full-refresh (full_refresh=false), so unapplied rows survive it.
-- the columns: exptrack_segment_group_columns() and exptrack_sufficient_statistic_names()
select
    cast(null as {{ dbt.type_string() }}) as experiment_id,
    cast(null as {{ dbt.type_string() }}) as metric_id,
    cast(null as {{ dbt.type_string() }}) as variant,
    cast(null as {{ dbt.type_string() }}) as attribute,  -- noqa: RF04
    cast(null as {{ dbt.type_string() }}) as attribute_value,
    cast(null as boolean) as is_rebuild,
    cast(null as {{ dbt.type_bigint() }}) as n,
    cast(null as {{ exptrack_type_double() }}) as sum,  -- noqa: RF04
    cast(null as {{ exptrack_type_double() }}) as sum_sq,
    cast(null as {{ exptrack_type_double() }}) as sum_den,
    cast(null as {{ exptrack_type_double() }}) as sum_den_sq,
    cast(null as {{ exptrack_type_double() }}) as sum_num_den,
    cast(null as {{ exptrack_type_double() }}) as sum_x,
    cast(null as {{ exptrack_type_double() }}) as sum_x_sq,
    cast(null as {{ exptrack_type_double() }}) as sum_xy,
    cast(null as {{ exptrack_type_double() }}) as sum_w,
    cast(null as {{ exptrack_type_double() }}) as sum_w_sq,
    cast(null as {{ exptrack_type_double() }}) as sum_xw,
    cast(null as {{ exptrack_type_double() }}) as sum_xd,
    cast(null as {{ exptrack_type_double() }}) as sum_wy,
    cast(null as {{ exptrack_type_double() }}) as sum_wd
where 1 = 0
