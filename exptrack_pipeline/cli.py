"""`exptrack`: run the pipeline for a date range and read the results from the terminal."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys

import duckdb
import pandas as pd

from exptrack_pipeline.config import RegistryError, Settings, load_registry

RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


def _instance():
    from dagster import DagsterInstance

    return DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else DagsterInstance.ephemeral()


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; use YYYY-MM-DD") from None


def run_pipeline(start: dt.date, end: dt.date, settings: Settings | None = None) -> None:
    """Ingest every day in [start, end] in one run, then build the registry, dbt models and results."""
    settings = settings or Settings.from_env()
    load_registry(settings.experiments_dir, settings.metrics_file)  # fail fast, before any run starts
    from exptrack_pipeline.definitions import build_definitions

    defs = build_definitions(settings)
    instance = _instance()
    ingest = defs.resolve_job_def("ingest_job").execute_in_process(
        instance=instance, tags={RANGE_START: start.isoformat(), RANGE_END: end.isoformat()}
    )
    print(f"ingested {start} .. {end}: run {ingest.run_id} {'succeeded' if ingest.success else 'FAILED'}")
    analysis = defs.resolve_job_def("analysis_job").execute_in_process(instance=instance)
    print(f"registry, dbt and results: run {analysis.run_id} {'succeeded' if analysis.success else 'FAILED'}")


def latest_results(warehouse, experiment_id: str | None = None) -> pd.DataFrame:
    query = """
        select * from main.experiment_results r
        where analysis_date = (select max(analysis_date) from main.experiment_results x where x.experiment_id = r.experiment_id)
    """
    with duckdb.connect(str(warehouse), read_only=True) as con:
        frame = con.execute(query).df()
    if experiment_id:
        frame = frame[frame["experiment_id"] == experiment_id]
    role_order = {"primary": 0, "secondary": 1, "guardrail": 2}
    return frame.sort_values(["experiment_id", "metric_role", "metric_id", "variant"], key=lambda s: s.map(role_order) if s.name == "metric_role" else s)


def format_results(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "no results (run `exptrack run --start YYYY-MM-DD --end YYYY-MM-DD` first)"
    lines = []
    for experiment_id, rows in frame.groupby("experiment_id", sort=False):
        lines.append(f"\n{experiment_id}  (through {rows['analysis_date'].max():%Y-%m-%d}, control = {rows['control_variant'].iloc[0]})")
        lines.append(f"  {'role':<9} {'metric':<22} {'variant':<13} {'n_ctrl':>7} {'n_var':>7} {'control':>9} {'variant':>9} {'lift':>8} {'95% CI (adj.)':>19} {'p_adj':>8}  verdict")
        for r in rows.itertuples():
            ci = f"[{r.rel_lift_ci_low:+.1%}, {r.rel_lift_ci_high:+.1%}]" if pd.notna(r.rel_lift_ci_low) else "n/a"
            good = (r.rel_lift > 0) == (r.direction == "increase")
            verdict = ("better" if good else "WORSE") if r.is_significant else "not significant"
            if r.reason:
                verdict += f" ({r.reason})"
            lines.append(
                f"  {r.metric_role:<9} {r.metric_id:<22} {r.variant:<13} {r.n_control:>7} {r.n_variant:>7} "
                f"{r.mean_control:>9.4g} {r.mean_variant:>9.4g} {r.rel_lift:>+8.1%} {ci:>19} {r.p_value_adjusted:>8.2g}  {verdict}"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="exptrack", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="materialise the whole pipeline for a date range")
    run.add_argument("--start", type=_date, required=True)
    run.add_argument("--end", type=_date, required=True)
    results = sub.add_parser("results", help="print the latest results as a table")
    results.add_argument("experiment", nargs="?")
    sub.add_parser("validate", help="check the experiment registry and metric catalog")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    try:
        if args.command == "run":
            if args.end < args.start:
                parser.error("--end is before --start")
            run_pipeline(args.start, args.end, settings)
        elif args.command == "results":
            print(format_results(latest_results(settings.warehouse, args.experiment)))
        elif args.command == "validate":
            registry = load_registry(settings.experiments_dir, settings.metrics_file)
            print(f"ok: {len(registry.experiments)} experiments, {len(registry.catalog.metrics)} metrics")
    except RegistryError as exc:
        print(f"exptrack: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
