-- Per experiment whose last analysis date moved since the value-side models were last built (int_refresh_value_dates:
-- a new day of data, or fewer days), the days between the old and the new date: (after_date, through_date]. An
-- experiment without a previous date (new, or no state yet) from the first day (after 1900-01-01). Read by
-- int_refresh_value_units (units whose value moved with the date) and the quantile models (their analysis dates
-- after after_date are new or gone).
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

)

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
