"""Schedules of the lifecycle area: the weekly status and the monthly impact report."""

import dagster as dg

from exptrack_pipeline.defs.lifecycle.jobs import monthly_impact_job, weekly_status_job

weekly_status_schedule = dg.ScheduleDefinition(
    name="weekly_status_schedule",
    job=weekly_status_job,
    cron_schedule="0 8 * * 1",
    description="Mondays 08:00 UTC: weekly status summary.",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
monthly_impact_schedule = dg.ScheduleDefinition(
    name="monthly_impact_schedule",
    job=monthly_impact_job,
    cron_schedule="0 8 1 * *",
    description="1st of the month 08:00 UTC: monthly cumulative-impact report.",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
