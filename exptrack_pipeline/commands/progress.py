"""What `exptrack run` shows while Dagster runs: one line per step, live counters for ingested days and dbt nodes.

A Dagster logger (`progress_logger`) receives every event of the run and feeds a `RunProgress`: with a terminal,
a rich progress display; without one (a pipe, CI, a log file), one plain line per finished step. Everything else the
run prints (dbt's per-node lines, Dagster's own log) goes to a log file, named when a step fails.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from typing import Any, TextIO

import dagster as dg

from exptrack_pipeline.defs.dbt.assets import exptrack_dbt_models

DBT_STEP = exptrack_dbt_models.op.name
INGEST_DAY = re.compile(
    r"^(exposures|events) \d{4}-\d{2}-\d{2}: \d+ row\(s\) loaded$"
)  # the per-day line of defs/ingestion/assets.py
DBT_NODE_EVENTS = ("ASSET_MATERIALIZATION", "ASSET_CHECK_EVALUATION", "ASSET_OBSERVATION")


def dbt_node_count(manifest_path: Any) -> int:
    """Models, tests, seeds and snapshots in dbt's manifest: the nodes `dbt build` runs (not the in_place models,
    which the ingestion job builds: defs/ingestion/in_place.py)."""
    import json
    from pathlib import Path

    nodes = json.loads(Path(manifest_path).read_text())["nodes"].values()
    built = ("model", "test", "seed", "snapshot")
    return sum(1 for node in nodes if node["resource_type"] in built and "exptrack_in_place" not in node["tags"])


class RunProgress:
    """Step-by-step progress of one or more Dagster runs, on `out` (rich when it is a terminal, plain otherwise)."""

    def __init__(
        self, out: TextIO | None = None, totals: dict[str, int] | None = None, plain: bool | None = None
    ) -> None:
        self.out = out or sys.stdout
        self.totals = totals or {}
        self.plain = (not self.out.isatty()) if plain is None else plain
        self.started: dict[str, float] = {}
        self.counts: dict[str, int] = {}
        self.failures: list[tuple[str, str]] = []
        self._rich: Any = None
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> RunProgress:
        """Start the rich progress display (or nothing in plain mode)."""
        if not self.plain:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            columns = (
                SpinnerColumn(finished_text="[green]✓"),
                TextColumn("{task.description:<28}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
            )
            self._rich = Progress(*columns, console=Console(file=self.out))
            self._rich.start()
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop the progress display."""
        if self._rich is not None:
            self._rich.stop()

    def heading(self, text: str) -> None:
        """Print a heading line above the progress display."""
        if self._rich is not None:
            self._rich.console.print(f"[bold]{text}")
        else:
            print(text, file=self.out, flush=True)

    def step_started(self, step: str) -> None:
        """Start timing `step` and show its progress bar."""
        self.started[step] = time.monotonic()
        self.counts[step] = 0
        if self._rich is not None:
            self._tasks[step] = self._rich.add_task(self._label(step), total=self.totals.get(step))

    def advance(self, step: str) -> None:
        """Count one finished node of `step` (never past the step's total)."""
        # a few dbt tests report twice (an observation and a check); never count past the manifest's nodes
        if self.totals.get(step) and self.counts.get(step, 0) >= self.totals[step]:
            return
        self.counts[step] = self.counts.get(step, 0) + 1
        if self._rich is not None and step in self._tasks:
            self._rich.update(self._tasks[step], advance=1)

    def step_finished(self, step: str, ok: bool, error: str = "") -> None:
        """Mark `step` done or failed (with `error`), showing its duration."""
        seconds = time.monotonic() - self.started.get(step, time.monotonic())
        if not ok:
            self.failures.append((step, error))
        if self._rich is not None and step in self._tasks:
            task = self._tasks[step]
            total = self.totals.get(step) or max(self.counts.get(step, 0), 1)
            self._rich.update(
                task,
                total=total,
                completed=total if ok else self.counts.get(step, 0),
                description=self._label(step) + ("" if ok else " [red]FAILED"),
            )
            self._rich.stop_task(task)
            return
        # dbt's count is the manifest's nodes, of which a full build reports only those Dagster records (models, and
        # tests that are asset checks; tests of sources report nothing) and a daily build runs fewer: a finished dbt
        # step shows no fraction, a failed one how far it got
        shown = self.totals.get(step) and not (ok and step == DBT_STEP)
        count = f" {self.counts[step]}/{self.totals[step]}" if shown else ""
        print(
            f"  {'ok    ' if ok else 'FAILED'} {self._label(step):<30}{count} {seconds:6.1f} s",
            file=self.out,
            flush=True,
        )

    def _label(self, step: str) -> str:
        return "dbt build (models, tests)" if step == DBT_STEP else step

    def on_record(self, record: logging.LogRecord) -> None:
        """One record of Dagster's log: step starts and ends, dbt nodes, ingested days."""
        meta = getattr(record, "dagster_meta", None) or {}
        step, event = meta.get("step_key"), meta.get("dagster_event")
        if step is None:
            return
        kind = event.event_type_value if event is not None else None
        if kind == "STEP_START":
            self.step_started(step)
        elif kind == "STEP_SUCCESS":
            self.step_finished(step, True)
        elif kind == "STEP_FAILURE":
            self.step_finished(
                step, False, _root_cause(event.step_failure_data.error if event.step_failure_data else None)
            )
        elif (step == DBT_STEP and kind in DBT_NODE_EVENTS) or (
            kind is None and INGEST_DAY.match(meta.get("orig_message", ""))
        ):
            self.advance(step)


def _root_cause(error: Any) -> str:
    """The innermost error message (Dagster wraps the asset's exception in a step-execution error)."""
    while error is not None and getattr(error, "cause", None) is not None:
        error = error.cause
    return error.message.strip() if error is not None else ""


def progress_logger(progress: RunProgress) -> dg.LoggerDefinition:
    """A Dagster logger that feeds every event of a run to `progress` (and prints nothing itself)."""

    class _Handler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            progress.on_record(record)

    @dg.logger(description="exptrack run's progress display")
    def _progress(_init_context) -> logging.Logger:
        log = logging.Logger("exptrack.progress", level=logging.DEBUG)
        log.addHandler(_Handler())
        return log

    return _progress


def run_loggers(progress: RunProgress) -> dict[str, dg.LoggerDefinition]:
    """Dagster's console logger (into the run's log file) and the progress display."""
    return {"console": dg.colored_console_logger, "progress": progress_logger(progress)}
