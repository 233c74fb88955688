"""`exptrack run`: one Dagster run that ingests a date range, then builds the registry, dbt, results, monitoring and
lifecycle.

The terminal shows one line per step (commands/progress.py); dbt's per-node output and Dagster's log go to
<output dir>/logs/run-<time>.log, whose path is printed when a step fails.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import sys
import warnings
from pathlib import Path

from exptrack_pipeline.config import Settings, load_registry
from exptrack_pipeline.sources import all_units, sources_path
from exptrack_pipeline.warehouse import open_warehouse

RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
LOGGERS = {"loggers": {"console": {"config": {"log_level": "INFO"}}, "progress": {}}}


class PipelineFailed(RuntimeError):
    """A step of `exptrack run` failed; the message names the step, the error and the log file."""


def register(subparsers: argparse._SubParsersAction) -> dict:
    """Add the `run` command to the CLI; return its handler."""
    run = subparsers.add_parser("run", help="materialise the whole pipeline for a date range")
    run.add_argument("--start", type=_date, required=True)
    run.add_argument("--end", type=_date, required=True)
    run.add_argument(
        "--no-ingest", action="store_true", help="skip the landing zone: the events are in the warehouse already"
    )
    run.add_argument(
        "--full-refresh",
        action="store_true",
        help="rebuild every dbt model from all history (a run normally rebuilds only what changed since the last one)",
    )
    run.add_argument(
        "--all-tests",
        action="store_true",
        help="run every dbt data test, also those that scan all history (a daily run leaves them out; a full refresh "
        "and the first build always run them)",
    )
    return {"run": _run}


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; use YYYY-MM-DD") from None


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.end < args.start:
        print("exptrack: --end is before --start", file=sys.stderr)
        return 2
    try:
        run_pipeline(
            args.start,
            args.end,
            settings,
            ingest=not args.no_ingest,
            full_refresh=args.full_refresh,
            all_tests=args.all_tests,
        )
    except (PipelineFailed, PartitionsStartError) as exc:
        print(f"exptrack: {exc}", file=sys.stderr)
        return 1
    return 0


class PartitionsStartError(ValueError):
    """The requested range starts before the first daily partition."""


def check_range(start: dt.date, end: dt.date) -> None:
    """Fail with what to set when the range starts before the daily partitions do (EXPTRACK_START_DATE)."""
    from exptrack_pipeline.defs.ingestion.assets import PARTITIONS_START_VAR, daily_partitions

    first = daily_partitions.start.date()
    if start < first:
        raise PartitionsStartError(
            f"--start {start} is before the first daily partition {first}: set {PARTITIONS_START_VAR}={start} "
            f"(or earlier) and run again, or start the range on or after {first}"
        )


def _instance():
    from dagster import DagsterInstance

    return DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else DagsterInstance.ephemeral()


def _log_path(settings: Settings) -> Path:
    folder = Path(settings.output_dir) / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"run-{dt.datetime.now():%Y%m%dT%H%M%S}.log"


def run_pipeline(
    start: dt.date,
    end: dt.date,
    settings: Settings | None = None,
    instance=None,
    ingest: bool = True,
    full_refresh: bool = False,
    all_tests: bool = False,
) -> None:
    """Ingest every day in [start, end] in one run (unless `ingest` is False: the events are already in the
    warehouse, EXPTRACK_RAW_SCHEMA), then build the registry, dbt models, results, monitoring and lifecycle.
    The incremental dbt models rebuild what changed since the last run; `full_refresh` rebuilds them all;
    `all_tests` runs the dbt data tests over all history that a daily run leaves out (defs/dbt/selection.py)."""
    # Dagster, dagster-dbt and dbt-core are imported here, by the run alone (≈ 4 CPU-s): `exptrack --help`,
    # `results`, `summary` and every other command start without them (tests/test_cli.py).
    import dagster as dg

    from exptrack_pipeline.commands.progress import DBT_STEP, RunProgress, dbt_node_count, run_loggers
    from exptrack_pipeline.definitions import build_definitions
    from exptrack_pipeline.defs.project import dbt_project

    warnings.filterwarnings(
        "ignore", category=dg.BetaWarning
    )  # Dagster's notes on its own API, not the user's business
    settings = settings or Settings.from_env()
    load_registry(settings.experiments_dir, settings.metrics_file)  # fail fast, before any run starts
    all_units(settings.raw_dir, sources_path(settings.experiments_dir))  # the sources YAML too
    if ingest:
        check_range(start, end)
    instance = instance or _instance()
    log_path = _log_path(settings)
    days = (end - start).days + 1
    totals = {"raw_exposures": days, "raw_events": days, DBT_STEP: dbt_node_count(dbt_project.manifest_path)}
    print(f"warehouse: {open_warehouse(settings).describe()}", flush=True)
    # One Dagster run: daily_pipeline (the ingestion's day range, then everything downstream; unpartitioned assets
    # run once) or, without ingestion, analysis_job. A second run cost its own creation, resource set-up and
    # run-level events (BENCHMARKS.md, "Branch `run_fixed`"); the steps and their progress lines are the same.
    name, heading, tags = (
        (
            "daily_pipeline",
            f"ingest {start} .. {end} ({days} days), then registry, dbt, results, monitoring, lifecycle",
            {RANGE_START: start.isoformat(), RANGE_END: end.isoformat()},
        )
        if ingest
        else ("analysis_job", "registry, dbt, results, monitoring, lifecycle", {})
    )
    run_config = {
        **LOGGERS,
        "ops": {"exptrack_dbt_models": {"config": {"full_refresh": full_refresh, "all_tests": all_tests}}},
    }
    with RunProgress(totals=totals) as progress, log_path.open("w") as log:
        defs = dg.Definitions.merge(build_definitions(settings), dg.Definitions(loggers=run_loggers(progress)))
        progress.heading(heading)
        with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
            result = defs.resolve_job_def(name).execute_in_process(
                run_config=run_config, instance=instance, tags=tags, raise_on_error=False
            )
    if progress.failures or not result.success:
        step, error = progress.failures[0] if progress.failures else (name, "the run failed")
        raise PipelineFailed(
            f"{name} failed at step {step}: {error}\nrun {result.run_id}; full log (dbt and Dagster): {log_path}"
        )
    print(f"done: runs logged in {log_path}", flush=True)
