"""Jobs of the lifecycle area: refresh the lifecycle tables, then write the weekly or the monthly summary."""

import dagster as dg

REFRESH = ["experiment_lifecycle", "experiment_backlog", "portfolio_metrics"]

weekly_status_job = dg.define_asset_job(
    "weekly_status_job",
    selection=[*REFRESH, "weekly_status_report"],
    description="Refresh the lifecycle tables and write the weekly status summary.",
)
monthly_impact_job = dg.define_asset_job(
    "monthly_impact_job",
    selection=[*REFRESH, "monthly_impact_report"],
    description="Refresh the lifecycle tables and write the monthly cumulative-impact report.",
)
