-- The last analysis date of each experiment (the date final results, segments and novelty are computed at).
select
    experiment_id,
    max(analysis_date) as last_analysis_date
from {{ ref('int_experiment_analysis_dates') }}
group by experiment_id
