"""`exptrack`: run the pipeline for a date range and read the results from the terminal."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys

from exptrack_pipeline.config import RegistryError, Settings, load_registry
from exptrack_pipeline.commands import flags as flag_commands
from exptrack_pipeline.commands import lifecycle as lifecycle_commands
from exptrack_pipeline.commands import monitoring as monitoring_commands
from exptrack_pipeline.summary import format_results, format_summary, latest_results
from exptrack_pipeline.warehouse import open_warehouse

RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


def _instance():
    from dagster import DagsterInstance

    return DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else DagsterInstance.ephemeral()


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; use YYYY-MM-DD") from None


def run_pipeline(start: dt.date, end: dt.date, settings: Settings | None = None, instance=None, ingest: bool = True) -> None:
    """Ingest every day in [start, end] in one run (unless `ingest` is False: the events are already in the
    warehouse, EXPTRACK_RAW_SCHEMA), then build the registry, dbt models, results, monitoring and lifecycle."""
    settings = settings or Settings.from_env()
    load_registry(settings.experiments_dir, settings.metrics_file)  # fail fast, before any run starts
    from exptrack_pipeline.definitions import build_definitions

    defs = build_definitions(settings)
    instance = instance or _instance()
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    print(f"warehouse: {open_warehouse(settings).describe()}")
    ingested = True
    if ingest:
        run = defs.resolve_job_def("ingest_job").execute_in_process(
            run_config=quiet, instance=instance, tags={RANGE_START: start.isoformat(), RANGE_END: end.isoformat()}
        )
        ingested = run.success
        print(f"ingested {start} .. {end}: run {run.run_id} {'succeeded' if run.success else 'FAILED'}")
    analysis = defs.resolve_job_def("analysis_job").execute_in_process(run_config=quiet, instance=instance)
    print(f"registry, dbt and results: run {analysis.run_id} {'succeeded' if analysis.success else 'FAILED'}")
    if not (ingested and analysis.success):
        raise RuntimeError("the pipeline run failed; see the Dagster run logs above")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="exptrack", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="materialise the whole pipeline for a date range")
    run.add_argument("--start", type=_date, required=True)
    run.add_argument("--end", type=_date, required=True)
    run.add_argument("--no-ingest", action="store_true", help="skip the landing zone: the events are in the warehouse already")
    results = sub.add_parser("results", help="print the latest results as a table")
    results.add_argument("experiment", nargs="?")
    sub.add_parser("summary", help="print ingestion, exposure and latest results per experiment")
    sub.add_parser("validate", help="check the experiment registry and metric catalog")
    handlers = {**monitoring_commands.register(sub), **lifecycle_commands.register(sub), **flag_commands.register(sub)}
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    try:
        if args.command == "run":
            if args.end < args.start:
                parser.error("--end is before --start")
            run_pipeline(args.start, args.end, settings, ingest=not args.no_ingest)
        elif args.command == "results":
            print(format_results(latest_results(open_warehouse(settings), args.experiment)))
        elif args.command == "summary":
            print(format_summary(open_warehouse(settings)))
        elif args.command in handlers:
            return handlers[args.command](args, settings)
        elif args.command == "validate":
            registry = load_registry(settings.experiments_dir, settings.metrics_file)
            print(f"ok: {len(registry.experiments)} experiments, {len(registry.catalog.metrics)} metrics")
    except RegistryError as exc:
        print(f"exptrack: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
