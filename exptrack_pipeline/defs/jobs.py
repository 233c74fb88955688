"""Jobs and the daily schedule."""

from __future__ import annotations

import dagster as dg

from exptrack_pipeline.defs.assets.ingestion import daily_partitions

INGESTION = dg.AssetSelection.groups("ingestion")

ingest_job = dg.define_asset_job(
    "ingest_job",
    selection=INGESTION,
    partitions_def=daily_partitions,
    description="Load one day (or a range, in one run) of landing-zone files into the warehouse.",
)

analysis_job = dg.define_asset_job(
    "analysis_job",
    selection=dg.AssetSelection.all() - INGESTION,
    description="Registry, every dbt model and test, and the results: everything downstream of ingestion.",
)

daily_pipeline = dg.define_asset_job(
    "daily_pipeline",
    selection=dg.AssetSelection.all(),
    partitions_def=daily_partitions,
    description="Yesterday's ingestion partition, then the registry, dbt and the results.",
)

daily_schedule = dg.build_schedule_from_partitioned_job(
    daily_pipeline,
    hour_of_day=2,
    description="Every day at 02:00 UTC: materialise yesterday's partition and everything downstream.",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
