-- The exposure days (per experiment) whose novelty sums (int_novelty_exposure_day_sums) this run re-sums: the days of
-- the unit periods int_novelty_unit_periods replaced — before its rebuild (int_refresh_replaced_novelty_days) and
-- after it (its rows in the same scope, exptrack_novelty_scope.sql). A quiet day touches the days of the units whose
-- late period just closed and of the units active within their first 2k days: recent exposure days, not history.
-- depends_on: {{ ref('int_refresh_scope') }}
-- depends_on: {{ ref('int_refresh_units') }}
-- depends_on: {{ ref('int_refresh_metric_dates') }}
-- depends_on: {{ ref('int_refresh_analysis_dates') }}
-- depends_on: {{ ref('stg_experiments') }}
-- depends_on: {{ ref('stg_metrics') }}
with rebuilt as (

    select
        periods.experiment_id,
        periods.exposure_date
    from {{ ref('int_novelty_unit_periods') }} as periods
    where {{ exptrack_in_novelty_scope('periods') }}

),

changed as (

    select * from rebuilt
    union all
    select * from {{ ref('int_refresh_replaced_novelty_days') }}

)

select distinct
    experiment_id,
    cast(exposure_date as date) as exposure_date
from changed
