"""Every dbt model, test and source of dbt_project/ as Dagster assets and asset checks."""

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from exptrack_pipeline.defs.project import dbt_project

SOURCE_ASSETS = {
    ("raw", "exposures"): "raw_exposures",
    ("raw", "exposure_attributes"): "raw_exposures",
    ("raw", "events"): "raw_events",
    ("raw", "identities"): "raw_events",
    ("raw", "quarantine"): "raw_events",
    ("raw", "ingestion_log"): "raw_events",
}


class ExptrackDbtTranslator(DagsterDbtTranslator):
    """dbt sources point at the assets that load them; models group by folder (staging, intermediate, marts)."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        """Registry sources map to `experiment_registry`, landing-zone sources to the ingestion assets;
        models keep dbt's key."""
        if dbt_resource_props["resource_type"] == "source":
            source = (dbt_resource_props["source_name"], dbt_resource_props["name"])
            if source[0] == "registry":
                return dg.AssetKey("experiment_registry")
            return dg.AssetKey(SOURCE_ASSETS[source])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        """`dbt_<folder>` for models in a subfolder of models/, else `dbt`."""
        return "dbt_" + dbt_resource_props["fqn"][1] if len(dbt_resource_props["fqn"]) > 2 else "dbt"


translator = ExptrackDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_duplicate_source_asset_keys=True))


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project, dagster_dbt_translator=translator, pool="duckdb")
def exptrack_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """Every dbt model and test (`dbt build`), streamed as Dagster events."""
    yield from dbt.cli(["build"], context=context).stream()
