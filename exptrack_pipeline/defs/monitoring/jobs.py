"""The monitoring job: health checks and alerting on the warehouse as it is."""

from __future__ import annotations

import dagster as dg

from exptrack_pipeline.defs.monitoring.assets import ALERTS, HEALTH

monitoring_job = dg.define_asset_job(
    "monitoring_job",
    selection=dg.AssetSelection.assets(HEALTH, ALERTS),
    description="Re-run the health checks and alerting on the warehouse as it is (no ingestion, no dbt).",
)
