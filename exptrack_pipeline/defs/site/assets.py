"""The dashboard site as a Dagster asset: regenerated after the results, monitoring and lifecycle assets. Thin wiring:
the reading, pages and targets are in `exptrack_pipeline.site`."""

import datetime as dt

import dagster as dg

from exptrack_pipeline.config.settings import Settings
from exptrack_pipeline.defs.resources import RegistryResource, WarehouseResource
from exptrack_pipeline.site import generate, scorecard, site_dir


class SiteResource(dg.ConfigurableResource):
    """Where the site goes (<output_dir>/site, beside reports/ and archive/) and the portfolio targets
    (defaults from the seed; EXPTRACK_TARGETS_FILE, a YAML with the same keys, overrides them)."""

    output_dir: str
    completed_per_quarter: float = 12
    time_to_decision_days: float = 14
    win_rate: float = 0.30
    implementation_rate: float = 0.90

    def targets(self) -> scorecard.Targets:
        return scorecard.Targets(self.completed_per_quarter, self.time_to_decision_days, self.win_rate, self.implementation_rate)

    @classmethod
    def from_settings(cls, settings: Settings) -> "SiteResource":
        t = scorecard.Targets.from_env()
        return cls(output_dir=str(settings.output_dir), completed_per_quarter=t.completed_per_quarter,
                   time_to_decision_days=t.time_to_decision_days, win_rate=t.win_rate, implementation_rate=t.implementation_rate)


@dg.asset(
    key="dashboard_site",
    deps=["experiment_results", "retention_results", "segment_results", "fct_retention_cohorts", "experiment_health",
          "experiment_alerts", "experiment_lifecycle", "experiment_reports", "experiment_archive"],
    pool="duckdb",
    group_name="site",
    kinds={"python", "html"},
    description="Static dashboard site: portfolio, experiment pages, learnings library, weekly, monthly and review pages "
    "(<EXPTRACK_OUTPUT_DIR>/site/index.html; `exptrack serve` browses it).",
)
def dashboard_site(context: dg.AssetExecutionContext, warehouse: WarehouseResource, registry: RegistryResource,
                   site: SiteResource) -> dg.MaterializeResult:
    with warehouse.connect(read_only=True) as con:
        built = generate(con, registry.load(), site.output_dir, site.targets(), dt.datetime.now(dt.UTC).date())
    context.log.info(f"dashboard site: {built.index}")
    return dg.MaterializeResult(metadata={"index": dg.MetadataValue.path(str(built.index)), "pages": len(built.pages),
                                          "folder": dg.MetadataValue.path(str(site_dir(site.output_dir)))})


def build(settings: Settings) -> dg.Definitions:
    """The asset and its resource, merged into the project's Definitions."""
    return dg.Definitions(assets=[dashboard_site], resources={"site": SiteResource.from_settings(settings)})
