"""The dashboard site as a Dagster asset: regenerated after the results, monitoring and lifecycle assets. Thin wiring:
the reading, pages and targets are in `exptrack_pipeline.site`."""

import datetime as dt

import dagster as dg

from exptrack_pipeline.defs.resources import RegistryResource, SiteResource, WarehouseResource
from exptrack_pipeline.site import generate, site_dir
from exptrack_pipeline.warehouse.targets import writer_pool


@dg.asset(
    key="dashboard_site",
    deps=[
        "experiment_results",
        "retention_results",
        "segment_results",
        "fct_retention_cohorts",
        "experiment_health",
        "experiment_alerts",
        "experiment_lifecycle",
        "experiment_reports",
        "experiment_archive",
    ],
    pool=writer_pool(),
    group_name="site",
    kinds={"python", "html"},
    description="Static dashboard site: portfolio, experiment pages, learnings library, weekly, monthly and review "
    "pages "
    "(<EXPTRACK_OUTPUT_DIR>/site/index.html; `exptrack serve` browses it).",
)
def dashboard_site(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, registry: RegistryResource, site: SiteResource
) -> dg.MaterializeResult:
    """Build the static dashboard site from the warehouse."""
    with warehouse.connect(read_only=True) as con:
        built = generate(con, registry.load(), site.output_dir, site.targets(), dt.datetime.now(dt.UTC).date())
    context.log.info(f"dashboard site: {built.index}")
    return dg.MaterializeResult(
        metadata={
            "index": dg.MetadataValue.path(str(built.index)),
            "pages": len(built.pages),
            "folder": dg.MetadataValue.path(str(site_dir(site.output_dir))),
        }
    )
