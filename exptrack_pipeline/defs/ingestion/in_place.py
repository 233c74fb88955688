"""The in_place_* dbt models: warehouse-table sources mapped by dbt, built before the raw assets read them.

The models (dbt_project/models/in_place/) are rendered from the sources YAML at each ingestion run: the mapping is
passed as a dbt var (sources/in_place.py), so the manifest that dagster-dbt reads at import never depends on the
sources YAML and the asset graph is the same for every sources file: in_place_exposures → raw_exposures,
in_place_events and in_place_identities → raw_events. They are in the ingestion group (the ingest job builds them
for each range it loads); `dbt build` of the other models leaves them out.
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from exptrack_pipeline.defs.dbt.parse_cache import prune_run_targets
from exptrack_pipeline.defs.ingestion.assets import daily_partitions
from exptrack_pipeline.defs.project import dbt_project
from exptrack_pipeline.defs.resources import LandingZoneResource
from exptrack_pipeline.sources import all_units
from exptrack_pipeline.sources.in_place import IN_PLACE_TAG, dbt_run_args
from exptrack_pipeline.warehouse.targets import writer_pool


class InPlaceTranslator(DagsterDbtTranslator):
    """The in_place models belong to the ingestion group, beside the raw assets that read them."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        """Every in_place model: `ingestion`."""
        return "ingestion"


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    select=f"tag:{IN_PLACE_TAG}",
    dagster_dbt_translator=InPlaceTranslator(),
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=writer_pool(),
    name="in_place_models",
)
def in_place_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, landing_zone: LandingZoneResource):
    """Render the sources YAML's table mappings into the in_place models. Without a table source nothing reads
    them: dbt is not started (it would parse the project for three empty views) and the step says so."""
    sources_file = Path(landing_zone.sources_file) if landing_zone.sources_file else None
    units = [unit for unit in all_units(Path(landing_zone.raw_dir), sources_file) if unit.in_place]
    if not units:
        for key in context.selected_asset_keys:
            yield dg.MaterializeResult(asset_key=key, metadata={"tables": 0, "note": "no warehouse-table source"})
        return
    invocation = dbt.cli(dbt_run_args(units), context=context)
    try:
        yield from invocation.stream()
    finally:  # the run folder dagster-dbt made: the newest ones kept (defs/dbt/parse_cache.py)
        run_target = Path(invocation.project_dir) / invocation.target_path
        prune_run_targets(run_target.parent, run_target)
