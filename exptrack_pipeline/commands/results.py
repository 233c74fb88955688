"""`exptrack results`, `exptrack summary` and `exptrack validate`: read the warehouse and the registry."""

from __future__ import annotations

import argparse
import sys

from exptrack_pipeline.commands.tables import format_results, format_summary, latest_results
from exptrack_pipeline.config import Settings, load_registry
from exptrack_pipeline.sources import all_units, sources_path
from exptrack_pipeline.warehouse import open_warehouse


def register(subparsers: argparse._SubParsersAction) -> dict:
    """Add the results, summary and validate commands to the CLI; return their handlers."""
    results = subparsers.add_parser("results", help="print the latest results as a table")
    results.add_argument("experiment", nargs="?")
    subparsers.add_parser("summary", help="print ingestion, exposure and latest results per experiment")
    subparsers.add_parser("validate", help="check the experiment registry and metric catalog")
    return {"results": _results, "summary": _summary, "validate": _validate}


def _results(args: argparse.Namespace, settings: Settings) -> int:
    frame = latest_results(open_warehouse(settings), args.experiment)
    if args.experiment and frame.empty:
        known = sorted(e.id for e in load_registry(settings.experiments_dir, settings.metrics_file).experiments)
        with_results = sorted(latest_results(open_warehouse(settings))["experiment_id"].unique())
        if args.experiment not in known:
            print(
                f"exptrack: unknown experiment {args.experiment!r}; the registry ({settings.experiments_dir}) has: "
                f"{', '.join(known) or 'none'}",
                file=sys.stderr,
            )
            return 2
        print(
            f"exptrack: no results for {args.experiment} yet (results exist for: {', '.join(with_results) or 'none'}); "
            "run `exptrack run --start YYYY-MM-DD --end YYYY-MM-DD` after its start date",
            file=sys.stderr,
        )
        return 1
    print(format_results(frame))
    return 0


def _summary(args: argparse.Namespace, settings: Settings) -> int:
    print(format_summary(open_warehouse(settings)))
    return 0


def _validate(args: argparse.Namespace, settings: Settings) -> int:
    registry = load_registry(settings.experiments_dir, settings.metrics_file)
    all_units(settings.raw_dir, sources_path(settings.experiments_dir))  # the sources YAML too
    print(f"ok: {len(registry.experiments)} experiments, {len(registry.catalog.metrics)} metrics")
    return 0
