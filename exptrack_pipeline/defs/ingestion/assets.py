"""Daily ingestion of the landing zone into raw.exposures and raw.events."""

import datetime as dt
import os
from pathlib import Path

import dagster as dg

from exptrack_pipeline.defs.resources import LandingZoneResource, WarehouseResource
from exptrack_pipeline.ingest import load_day
from exptrack_pipeline.ingest.publish import load_days_into_server
from exptrack_pipeline.ingest.spark_files import landing_uri
from exptrack_pipeline.ingest.spark_landing import load_days_from_landing, spark_reads
from exptrack_pipeline.ingest.spark_publish import load_days_into_spark
from exptrack_pipeline.sources import units_for_asset
from exptrack_pipeline.sources.in_place_postgres import load_table_days
from exptrack_pipeline.warehouse.targets import writer_pool

PARTITIONS_START_VAR, PARTITIONS_START_DEFAULT = "EXPTRACK_START_DATE", "2026-10-01"
daily_partitions = dg.DailyPartitionsDefinition(
    start_date=os.environ.get(PARTITIONS_START_VAR, PARTITIONS_START_DEFAULT)
)


def _ingest(
    context: dg.AssetExecutionContext, source: str, landing_zone: LandingZoneResource, warehouse: WarehouseResource
):
    days = [dt.date.fromisoformat(key) for key in context.partition_keys]
    totals = {"rows_read": 0, "rows_loaded": 0, "rows_quarantined": 0, "rows_deduplicated": 0}
    reasons: dict[str, int] = {}
    files = 0
    balanced = True
    raw_dir = Path(landing_zone.raw_dir)
    units = units_for_asset(source, raw_dir, Path(landing_zone.sources_file) if landing_zone.sources_file else None)
    with warehouse.connect() as con:
        if warehouse.kind == "duckdb":
            reports = (load_day(con, raw_dir, unit, day) for unit in units for day in days)
        else:  # a server warehouse: DuckDB reads and checks the files, COPY sends each day (ingest/publish.py);
            # a warehouse table is read in place by the server's own SQL (sources/in_place_postgres.py)
            reports = (
                r
                for unit in units
                for r in (
                    load_table_days(con, unit, days)
                    if unit.in_place
                    else load_days_from_landing(con, landing_uri(raw_dir), unit, days)  # Spark reads the files
                    if warehouse.kind == "spark" and spark_reads(unit)  # (ingest/spark_landing.py)
                    else (load_days_into_spark if warehouse.kind == "spark" else load_days_into_server)(
                        con, raw_dir, unit, days
                    )
                )
            )
        for report in reports:
            day = report.partition_date
            for key in totals:
                totals[key] += getattr(report, key)
            for reason, count in report.quarantine_reasons.items():
                reasons[reason] = reasons.get(reason, 0) + count
            files += len(report.files)
            balanced &= report.balanced
            for path, problem in report.file_problems.items():
                context.log.warning(f"{report.source} {day}: file {path} quarantined whole: {problem}")
            if report.rows_quarantined:
                context.log.warning(
                    f"{report.source} {day}: quarantined {report.rows_quarantined} row(s): {report.quarantine_reasons}"
                )
            context.log.info(
                f"{report.source} {day}: {report.rows_loaded} row(s) loaded"
            )  # one per day: `exptrack run` counts them
    yield dg.MaterializeResult(
        metadata={
            **{key: dg.MetadataValue.int(value) for key, value in totals.items()},
            "files": dg.MetadataValue.int(files),
            "quarantine_reasons": dg.MetadataValue.json(reasons),
        }
    )
    yield dg.AssetCheckResult(
        check_name="rows_conserved",
        passed=balanced,
        metadata={**totals, "rule": "rows_read = rows_loaded + rows_quarantined + rows_deduplicated (per day)"},
    )


def _ingestion_asset(key: str, description: str, in_place: list[str]) -> dict:
    """What both raw assets share: daily partitions (a range runs as one run), the DuckDB pool, the rows_conserved
    check; `in_place` are the dbt models of warehouse-table sources the asset reads (defs/ingestion/in_place.py)."""
    conserved = dg.AssetCheckSpec(
        "rows_conserved", asset=key, description="Every row read is loaded, quarantined or de-duplicated."
    )
    return {
        "key": key,
        "description": description,
        "partitions_def": daily_partitions,
        "backfill_policy": dg.BackfillPolicy.single_run(),
        "pool": writer_pool(),
        "group_name": "ingestion",
        "kinds": {"duckdb", "python"},
        "check_specs": [conserved],
        "deps": in_place,
    }


@dg.asset(
    **_ingestion_asset(
        "raw_exposures",
        "Exposure rows of the day's landing-zone files (raw.exposures, raw.exposure_attributes); bad rows go "
        "to raw.quarantine.",
        ["in_place_exposures"],
    )
)
def raw_exposures(context: dg.AssetExecutionContext, landing_zone: LandingZoneResource, warehouse: WarehouseResource):
    """Load one day of exposure files into raw.exposures."""
    yield from _ingest(context, "exposures", landing_zone, warehouse)


@dg.asset(
    **_ingestion_asset(
        "raw_events",
        "Behaviour events of the day's landing-zone files (raw.events), de-duplicated by event_id within the day.",
        ["in_place_events", "in_place_identities"],
    )
)
def raw_events(context: dg.AssetExecutionContext, landing_zone: LandingZoneResource, warehouse: WarehouseResource):
    """Load one day of event files into raw.events."""
    yield from _ingest(context, "events", landing_zone, warehouse)
