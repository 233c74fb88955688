"""experiment_results: significance for every metric of every experiment, through the statistics library."""


import dagster as dg

from exptrack_pipeline.analysis.results import compute_results
from exptrack_pipeline.defs.resources import WarehouseResource
from exptrack_pipeline.schemas import RESULT_COLUMN_DOCS, VariantMetricStats

RESULTS_TABLE = "experiment_results"


def latest_primary_markdown(results) -> str:
    if results.empty:
        return "_no results yet_"
    latest = results[results["analysis_date"] == results.groupby("experiment_id")["analysis_date"].transform("max")]
    primary = latest[latest["metric_role"] == "primary"]
    table = primary[["experiment_id", "metric_id", "variant", "n_control", "n_variant", "rel_lift", "rel_lift_ci_low", "rel_lift_ci_high", "p_value_adjusted", "is_significant"]]
    return table.to_markdown(index=False, floatfmt=".4g")


@dg.asset(
    key=RESULTS_TABLE,
    deps=[dg.AssetKey("fct_variant_metric_stats"), dg.AssetKey("experiment_registry")],
    pool="duckdb",
    group_name="analysis",
    kinds={"python", "duckdb"},
    description="One row per experiment × metric × non-control variant × analysis date: lift, CIs, p-values "
    "(fixed-horizon, Bonferroni-adjusted, always-valid, CUPED) and a Bayesian summary.",
    metadata={
        "dagster/column_schema": dg.TableSchema(
            columns=[dg.TableColumn(name, description=doc) for name, doc in RESULT_COLUMN_DOCS.items()]
        )
    },
)
def experiment_results(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    stats = VariantMetricStats.validate(warehouse.read_df("select * from main.fct_variant_metric_stats"))
    alphas = warehouse.read_df("select experiment_id, alpha from registry.experiments").set_index("experiment_id")["alpha"]
    margins = warehouse.read_df("select experiment_id, metric_id, max_relative_harm from registry.experiment_metrics")
    results = compute_results(stats, alphas, margins)
    warehouse.replace_table("main", RESULTS_TABLE, results)
    context.log.info(f"wrote {len(results)} result rows")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": dg.MetadataValue.int(len(results)),
            "experiments": dg.MetadataValue.int(results["experiment_id"].nunique()),
            "latest_primary_results": dg.MetadataValue.md(latest_primary_markdown(results)),
        }
    )
