"""The daily schedule of the whole pipeline."""

from __future__ import annotations

import dagster as dg

from exptrack_pipeline.defs.pipeline.jobs import daily_pipeline

daily_schedule = dg.build_schedule_from_partitioned_job(
    daily_pipeline,
    hour_of_day=2,
    description="Every day at 02:00 UTC: materialise yesterday's partition and everything downstream.",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
