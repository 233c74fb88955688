"""Every dbt model, test and source of dbt_project/ as Dagster assets and asset checks."""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from exptrack_pipeline.defs.dbt.cli_resource import file_log_args, write_json_args
from exptrack_pipeline.defs.dbt.parse_cache import (
    keep_partial_parse,
    profile_key,
    prune_run_targets,
    run_target_path,
    seed_partial_parse,
)
from exptrack_pipeline.defs.dbt.selection import FULL_SCAN_TAG, dbt_build_args, is_backfill
from exptrack_pipeline.defs.project import dbt_project
from exptrack_pipeline.defs.resources import WarehouseResource
from exptrack_pipeline.warehouse.targets import writer_pool

SOURCE_ASSETS = {
    ("raw", "exposures"): "raw_exposures",
    ("raw", "exposure_attributes"): "raw_exposures",
    ("raw", "events"): "raw_events",
    ("raw", "identities"): "raw_events",
    ("raw", "quarantine"): "raw_events",
    ("raw", "ingestion_log"): "raw_events",
    ("raw", "partition_fingerprints"): "raw_events",
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


class DbtBuildConfig(dg.Config):
    """Run config of the dbt step. The incremental models rebuild only what changed since the last run
    (dbt_project/macros/exptrack_refresh_scope.sql); `full_refresh: true` rebuilds every model from all history.
    A daily run leaves out the data tests that scan a whole event-scale table (defs/dbt/selection.py);
    `all_tests: true` runs them anyway (a full refresh and the first build of a warehouse always do)."""

    full_refresh: bool = False
    all_tests: bool = False


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=translator,
    pool=writer_pool(),
    exclude="tag:exptrack_in_place",  # built by the ingestion job (defs/ingestion/in_place.py)
)
def exptrack_dbt_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource, config: DbtBuildConfig
):
    """Every dbt model and test (`dbt build`, `--full-refresh` when configured; the full-scan tests only on a
    backfill, a full refresh or when asked), streamed as Dagster events. dbt starts from the previous run's partial
    parse (defs/dbt/parse_cache.py, which also removes all but the newest run folders) and writes no file log and
    no JSON artifacts unless DBT_LOG_LEVEL_FILE or DBT_WRITE_JSON asks for them (defs/dbt/cli_resource.py)."""
    with warehouse.connect() as con:
        backfill = is_backfill(con)
    all_tests = config.all_tests or backfill
    if not (all_tests or config.full_refresh):
        context.log.info(f"daily run: the data tests tagged {FULL_SCAN_TAG} (whole event-scale tables) are left out")
    targets = Path(dbt_project.project_dir) / dbt_project.target_path
    run_target = run_target_path(targets, context.op_execution_context.op.name, context.run.run_id)
    key = profile_key(Path(dbt_project.project_dir) / "profiles.yml")
    seed_partial_parse(targets, run_target, key)
    try:
        args = [*dbt_build_args(config.full_refresh, all_tests), *file_log_args(), *write_json_args()]
        yield from dbt.cli(args, context=context, target_path=run_target).stream()
    finally:
        keep_partial_parse(targets, run_target, key)
        prune_run_targets(targets, run_target)
