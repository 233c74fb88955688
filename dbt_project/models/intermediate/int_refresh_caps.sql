{{ exptrack_require_built_together() }}
-- The winsorisation caps the daily deltas were last built with (int_metric_caps at the end of the last successful
-- run; built after int_variant_metric_daily_deltas, like int_refresh_state): int_refresh_metric_dates compares the
-- current caps with these to rebuild a metric whose percentile cap moved.
-- depends_on: {{ ref('int_variant_metric_daily_deltas') }}
-- depends_on: {{ ref('int_refresh_value_dates') }}
select
    experiment_id,
    metric_id,
    cap
from {{ ref('int_metric_caps') }}
