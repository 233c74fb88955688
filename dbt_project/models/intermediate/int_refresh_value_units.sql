-- The units whose value as of the last analysis date (int_unit_metric_values) this run must recompute because that
-- date moved since the last run (int_refresh_value_dates), per experiment, metric and unit: units with unit-days
-- between the old and the new date, and units that become (or stop being) eligible between them (exposure, or
-- exposure + n days for a retention Dn metric). The other reasons a value changes (its unit-days or assignment, a
-- moved cap, a changed metric or experiment) are read from int_refresh_units and int_refresh_metric_dates
-- (exptrack_in_unit_value_scope). Without a previous state every experiment's dates moved from the first day.
{%- set previous = adapter.get_relation(
    database=this.database, schema=this.schema, identifier='int_refresh_value_dates'
) if execute else none %}

with current_dates as (

    select * from {{ ref('int_experiment_last_analysis_dates') }}

),

previous_dates as (

    {% if previous is none %}
        select * from current_dates
        where 1 = 0
    {% else %}
        select * from {{ previous }}
    {% endif %}

),

moved as (

    -- (after_date, through_date]: the days between the old and the new last analysis date
    select
        current_dates.experiment_id,
        case
            when previous_dates.last_analysis_date is null then cast('1900-01-01' as date)
            when previous_dates.last_analysis_date < current_dates.last_analysis_date
                then previous_dates.last_analysis_date
            else current_dates.last_analysis_date
        end as after_date,
        case
            when previous_dates.last_analysis_date is null then current_dates.last_analysis_date
            when previous_dates.last_analysis_date > current_dates.last_analysis_date
                then previous_dates.last_analysis_date
            else current_dates.last_analysis_date
        end as through_date
    from current_dates
    left join previous_dates
        on current_dates.experiment_id = previous_dates.experiment_id
    where previous_dates.last_analysis_date is null
        or previous_dates.last_analysis_date <> current_dates.last_analysis_date

),

active_units as (

    select
        daily.experiment_id,
        daily.metric_id,
        daily.user_id
    from {{ ref('int_unit_metric_daily') }} as daily
    inner join moved
        on daily.experiment_id = moved.experiment_id
    where daily.activity_date > moved.after_date
        and daily.activity_date <= moved.through_date

),

eligible_units as (

    select
        assignments.experiment_id,
        experiment_metrics.metric_id,
        assignments.user_id
    from {{ ref('int_assignments') }} as assignments
    inner join moved
        on assignments.experiment_id = moved.experiment_id
    inner join {{ ref('stg_experiment_metrics') }} as experiment_metrics
        on assignments.experiment_id = experiment_metrics.experiment_id
    inner join {{ ref('stg_metrics') }} as metrics
        on experiment_metrics.metric_id = metrics.metric_id
    where {{ exptrack_unit_eligible_from() }} > moved.after_date
        and {{ exptrack_unit_eligible_from() }} <= moved.through_date

),

changed as (

    select * from active_units
    union all
    select * from eligible_units

)

select distinct
    experiment_id,
    metric_id,
    user_id
from changed
