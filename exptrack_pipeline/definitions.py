"""The one Definitions object: what the Dagster UI, the daemon and `exptrack` load."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource

from exptrack_pipeline.config.settings import Settings
from exptrack_pipeline.defs import lifecycle, monitoring
from exptrack_pipeline.defs.flags import assets as flag_assets
from exptrack_pipeline.defs.assets.breakdowns import retention_results, segment_results
from exptrack_pipeline.defs.assets.dbt import exptrack_dbt_models
from exptrack_pipeline.defs.assets.ingestion import raw_events, raw_exposures
from exptrack_pipeline.defs.assets.registry import experiment_registry
from exptrack_pipeline.defs.assets.results import experiment_results
from exptrack_pipeline.defs.jobs import analysis_job, daily_pipeline, daily_schedule, ingest_job
from exptrack_pipeline.defs.project import dbt_project
from exptrack_pipeline.defs.resources import LandingZoneResource, RegistryResource, WarehouseResource


def dbt_executable() -> str:
    """The dbt next to this Python (the project venv), else the one on PATH."""
    for candidate in (Path(sys.prefix) / "bin" / "dbt", Path(sys.executable).parent / "dbt"):
        if candidate.exists():
            return str(candidate)
    return shutil.which("dbt") or "dbt"


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    settings = settings or Settings.from_env()
    settings.export()
    core = dg.Definitions(
        assets=[raw_exposures, raw_events, experiment_registry, exptrack_dbt_models, experiment_results, retention_results, segment_results],
        jobs=[ingest_job, analysis_job, daily_pipeline],
        schedules=[daily_schedule],
        resources={
            "warehouse": WarehouseResource.from_settings(settings),
            "registry": RegistryResource(experiments_dir=str(settings.experiments_dir), metrics_file=str(settings.metrics_file)),
            "landing_zone": LandingZoneResource(raw_dir=str(settings.raw_dir)),
            "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable(), target=settings.target),
        },
    )
    return dg.Definitions.merge(core, monitoring.build(settings), lifecycle.build(settings), flag_assets.build(settings))


defs = build_definitions()
