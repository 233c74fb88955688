"""The pipeline's jobs: ingestion (partitioned), everything downstream of it, and both together."""

from __future__ import annotations

import dagster as dg

from exptrack_pipeline.defs.ingestion.assets import daily_partitions

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
