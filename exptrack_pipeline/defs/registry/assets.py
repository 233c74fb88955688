"""The experiment registry and metric catalog, validated and written to the warehouse for dbt."""

import dagster as dg

from exptrack_pipeline.config.tables import registry_tables
from exptrack_pipeline.defs.resources import RegistryResource, WarehouseResource
from exptrack_pipeline.lifecycle.store import refresh_status_table
from exptrack_pipeline.warehouse.schema import ensure_tables
from exptrack_pipeline.warehouse.targets import writer_pool


@dg.asset(
    key="experiment_registry",
    pool=writer_pool(),
    group_name="registry",
    kinds={"yaml", "duckdb"},
    description="Experiments (one YAML each) and the metric catalog, validated, as tables in schema `registry`.",
)
def experiment_registry(registry: RegistryResource, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Write the registry tables (experiments, variants, metrics, phases, flags) and ensure the state tables."""
    loaded = registry.load()
    tables = registry_tables(loaded)
    with warehouse.one_connection() as held:  # DuckDB: one connection for all of it (each open costs ~30 ms)
        for name, frame in tables.items():
            held.replace_table("registry", name, frame)
        with held.connect() as con:  # the state tables dbt reads, and the effective status for this registry
            ensure_tables(con)
            con.execute("begin transaction")
            refresh_status_table(con)
            con.execute("commit")
    experiments = tables["experiments"]
    return dg.MaterializeResult(
        metadata={
            "experiments": dg.MetadataValue.int(len(experiments)),
            "metrics": dg.MetadataValue.int(len(tables["metrics"])),
            "registry": dg.MetadataValue.md(
                experiments[
                    ["experiment_id", "status", "owner", "start_date", "end_date", "primary_metric_id"]
                ].to_markdown(index=False)
            ),
        }
    )
