"""The statistics assets over the dbt marts: experiment_results (significance for every metric of every experiment),
retention_results and segment_results, each a call into exptrack_pipeline.analysis."""

import dagster as dg

from exptrack_pipeline.analysis.results import compute_results
from exptrack_pipeline.analysis.retention import compute_retention_results
from exptrack_pipeline.analysis.segments import compute_segment_results
from exptrack_pipeline.defs.resources import WarehouseResource
from exptrack_pipeline.schemas import RESULT_COLUMN_DOCS, RetentionCohorts, SegmentMetricStats, VariantMetricStats
from exptrack_pipeline.warehouse.targets import writer_pool

RESULTS_TABLE = "experiment_results"


def latest_primary_markdown(results) -> str:
    """The latest primary-metric results per experiment as a Markdown table."""
    if results.empty:
        return "_no results yet_"
    latest = results[results["analysis_date"] == results.groupby("experiment_id")["analysis_date"].transform("max")]
    primary = latest[latest["metric_role"] == "primary"]
    table = primary[
        [
            "experiment_id",
            "metric_id",
            "variant",
            "n_control",
            "n_variant",
            "rel_lift",
            "rel_lift_ci_low",
            "rel_lift_ci_high",
            "p_value_adjusted",
            "is_significant",
        ]
    ]
    return table.to_markdown(index=False, floatfmt=".4g")


@dg.asset(
    key=RESULTS_TABLE,
    deps=[
        dg.AssetKey("fct_variant_metric_stats"),
        dg.AssetKey("fct_variant_metric_quantiles"),
        dg.AssetKey("experiment_registry"),
    ],
    pool=writer_pool(),
    group_name="analysis",
    kinds={"python", "duckdb"},
    description="One row per experiment × metric × non-control variant × analysis date: lift, CIs, p-values "
    "(fixed-horizon, Bonferroni-adjusted, always-valid, CUPED; quantile metrics by order statistics) and a "
    "Bayesian summary.",
    metadata={
        "dagster/column_schema": dg.TableSchema(
            columns=[dg.TableColumn(name, description=doc) for name, doc in RESULT_COLUMN_DOCS.items()]
        )
    },
)
def experiment_results(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Compute experiment_results from fct_variant_metric_stats: lifts, CIs and p-values per day."""
    with warehouse.one_connection(read_only=True) as held:  # one connection for the reads (~30 ms per open)
        stats = VariantMetricStats.validate(held.read_df("select * from main.fct_variant_metric_stats"))
        alphas = held.read_df("select experiment_id, alpha from registry.experiments").set_index("experiment_id")[
            "alpha"
        ]
        margins = held.read_df("select experiment_id, metric_id, max_relative_harm from registry.experiment_metrics")
        options = held.read_df(
            "select em.experiment_id, em.metric_id, em.alternative, m.exact_test, m.exact_below"
            " from registry.experiment_metrics em join registry.metrics m on m.metric_id = em.metric_id"
        )
        corrections = held.read_df("select experiment_id, correction from registry.experiments").set_index(
            "experiment_id"
        )["correction"]
        quantiles = held.read_df("select * from main.fct_variant_metric_quantiles")
    results = compute_results(stats, alphas, margins, options, corrections, quantiles=quantiles)
    warehouse.replace_table("main", RESULTS_TABLE, results)
    context.log.info(f"wrote {len(results)} result rows")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": dg.MetadataValue.int(len(results)),
            "experiments": dg.MetadataValue.int(results["experiment_id"].nunique()),
            "latest_primary_results": dg.MetadataValue.md(latest_primary_markdown(results)),
        }
    )


@dg.asset(
    key="retention_results",
    deps=[dg.AssetKey("fct_retention_cohorts"), dg.AssetKey("experiment_registry")],
    pool=writer_pool(),
    group_name="analysis",
    kinds={"python", "duckdb"},
    description="D1/D7/D30 retention per experiment and variant (cohorts old enough only) with Wilson CIs and the "
    "lift vs "
    "control.",
)
def retention_results(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Compute retention_results from fct_retention_cohorts: D1/D7/D30 rates and lifts."""
    with warehouse.one_connection(read_only=True) as held:
        cohorts = RetentionCohorts.validate(held.read_df("select * from main.fct_retention_cohorts"))
        controls = held.read_df("select experiment_id, control_variant from registry.experiments").set_index(
            "experiment_id"
        )["control_variant"]
    results = compute_retention_results(cohorts, controls)
    warehouse.replace_table("main", "retention_results", results)
    matrix = (
        cohorts.assign(rate=cohorts["retained_units"] / cohorts["eligible_units"].where(cohorts["eligible_units"] > 0))
        .pivot_table(index=["experiment_id", "variant"], columns="day_since_exposure", values="rate", aggfunc="mean")
        .reindex(columns=[1, 7, 14, 30])
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": dg.MetadataValue.int(len(results)),
            "retention": dg.MetadataValue.md(results.to_markdown(index=False, floatfmt=".4g")),
            "mean_cohort_retention_by_day": dg.MetadataValue.md(matrix.to_markdown(floatfmt=".3f")),
        }
    )


@dg.asset(
    key="segment_results",
    deps=[
        dg.AssetKey("fct_segment_metric_stats"),
        dg.AssetKey("fct_segment_exposures"),
        dg.AssetKey("experiment_registry"),
    ],
    pool=writer_pool(),
    group_name="analysis",
    kinds={"python", "duckdb"},
    description="Results per user-attribute value (platform, country, new vs returning) at the last analysis date, "
    "with SRM per segment and a warning when a segment is too small to say anything.",
)
def segment_results(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Compute segment_results from fct_segment_metric_stats: lifts and SRM per segment."""
    with warehouse.one_connection(read_only=True) as held:
        stats = SegmentMetricStats.validate(held.read_df("select * from main.fct_segment_metric_stats"))
        exposures = held.read_df("select * from main.fct_segment_exposures")
        alphas = held.read_df("select experiment_id, alpha from registry.experiments").set_index("experiment_id")[
            "alpha"
        ]
    results = compute_segment_results(stats, exposures, alphas)
    warehouse.replace_table("main", "segment_results", results)
    small = int((results["warning"] != "").sum())
    if small:
        context.log.warning(
            f"{small} segment result(s) carry a warning (too small or undefined); see the `warning` column"
        )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": dg.MetadataValue.int(len(results)),
            "rows_with_warning": dg.MetadataValue.int(small),
        }
    )
