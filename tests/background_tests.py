"""Tests run in a second pytest process started at collection, their outcomes reported by the session in their place.

`make test` runs on 2 cores; the Spark, PostgreSQL and sources runs go to background processes at collection
(spark_support.py, background_runs.py) and finish before the foreground pytest process does, which then runs alone
on one core. A test (or a whole module: `pytestmark = pytest.mark.background`) that needs nothing the foreground
shares — no `demo_run`, no background run, no PostgreSQL server; its own tmp_path, its own DuckDB file — carries the
mark `background`: when the session also selects tests without the mark, conftest.py runs the marked ones in a second
`pytest` process started at collection (the same node ids, the same fixtures and assertions, this interpreter). In
the session each of them is replaced by a `BackgroundResult` item, moved to the end, that waits for that process and
passes, fails (with the test's own failure text) or skips as the test did there. A session of marked tests only (e.g.
`pytest tests/test_incremental_novelty.py`) runs them in-process, as before.

The second process (CHILD_ENV set) loads this module as a plugin (`-p background_tests`): it records every test's
reports and writes them to the JSON file named by RESULTS_ENV when it finishes. It reads the session's parsed dbt
manifest (MANIFEST_ENV; conftest.py never re-parses it there, so the file the foreground's Dagster definitions read
is never rewritten while they read it) and starts no background run of its own (its modules declare none).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
MARK = "background"
CHILD_ENV = "EXPTRACK_TEST_CHILD"
RESULTS_ENV = "EXPTRACK_BACKGROUND_RESULTS"
MANIFEST_ENV = "EXPTRACK_TEST_MANIFEST"
SHARED_FIXTURES = {"demo_run", "background", "pg_server"}
"""Fixtures of the foreground session: a test using one stays there (the second process would run it again)."""
TIMEOUT = 3600


def register(config: pytest.Config) -> None:
    """Declare the marker (pytest_configure)."""
    config.addinivalue_line(
        "markers",
        f"{MARK}: run in the session's second pytest process started at collection (tests/background_tests.py)",
    )


def in_child() -> bool:
    """True in the second process (it never starts a third)."""
    return bool(os.environ.get(CHILD_ENV))


@dataclass(frozen=True)
class Outcome:
    """What one test did in the second process: `passed`, `failed`, `skipped` or `xfailed`, with its text."""

    status: str
    text: str = ""


class BackgroundFailure(Exception):
    """The test failed in the second process; the message is its own failure text."""


class Child:
    """The second pytest process: its node ids, log and results file (in a temp folder removed by `stop`)."""

    def __init__(self, nodeids: list[str]) -> None:
        self.nodeids = nodeids
        self.root = Path(tempfile.mkdtemp(prefix="exptrack-background-tests-"))
        self.log, self.results = self.root / "pytest.log", self.root / "results.json"
        self.process: subprocess.Popen | None = None
        self.seconds: float | None = None
        self._outcomes: dict[str, Outcome] | None = None
        self.report: list[str] = []  # the process's own summary, kept for the session's report

    def start(self, manifest: Path) -> None:
        """Start `pytest NODEIDS` in the repository with the session's manifest; output to `log`."""
        python_path = os.pathsep.join(p for p in [str(TESTS), os.environ.get("PYTHONPATH", "")] if p)
        env = {
            **os.environ,
            CHILD_ENV: "1",
            RESULTS_ENV: str(self.results),
            MANIFEST_ENV: str(manifest),
            "PYTHONPATH": python_path,
        }
        command = [sys.executable, "-m", "pytest", "-q", "-p", "background_tests", "-p", "no:cacheprovider"]
        self._started = time.perf_counter()
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [*command, *self.nodeids], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT
            )

    def outcome(self, nodeid: str) -> Outcome:
        """The test's outcome, waiting for the process to finish."""
        if self._outcomes is None:
            code = self.process.wait(timeout=TIMEOUT)
            self.seconds = time.perf_counter() - self._started
            recorded = json.loads(self.results.read_text()) if self.results.exists() else {}
            self._outcomes = {key: Outcome(**value) for key, value in recorded.items()}
            self._code = code
            lines = self.log.read_text(errors="replace").splitlines() if self.log.exists() else []
            start_at = next((i for i, line in enumerate(lines) if "slowest" in line), max(len(lines) - 15, 0))
            self.report = lines[start_at:]
        missing = f"not run by the background pytest process (exit {self._code}); its log ends:\n{self.log_tail()}"
        return self._outcomes.get(nodeid, Outcome("failed", missing))

    def log_tail(self, chars: int = 6000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


_CHILD = pytest.StashKey[Child]()


class BackgroundResult(pytest.Item):
    """A marked test's place in the session: its outcome in the second process."""

    def runtest(self) -> None:
        outcome = self.config.stash[_CHILD].outcome(self.nodeid)
        if outcome.status == "skipped":
            pytest.skip(outcome.text)
        if outcome.status == "xfailed":
            pytest.xfail(outcome.text)
        if outcome.status != "passed":
            raise BackgroundFailure(outcome.text)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, BackgroundFailure):
            return f"(run in the background pytest process)\n{excinfo.value}"
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.path, None, self.name


def _runs_in_background(item: pytest.Item) -> bool:
    marked = item.get_closest_marker(MARK) is not None
    return marked and not SHARED_FIXTURES & set(getattr(item, "fixturenames", ()))


def split(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Replace the marked items by BackgroundResult items at the end of `items` (in place) and stash the second
    process to start (`start`), when the session also has unmarked items; nothing in the second process itself."""
    if in_child():
        return
    marked = [item for item in items if _runs_in_background(item)]
    if not marked or len(marked) == len(items):
        return
    moved = {id(item) for item in marked}
    items[:] = [item for item in items if id(item) not in moved] + [
        BackgroundResult.from_parent(item.parent, name=item.name) for item in marked
    ]
    config.stash[_CHILD] = Child([item.nodeid for item in marked])


def start(config: pytest.Config, prepare: Callable[[], Path]) -> None:
    """Start the second process `split` stashed (pytest_collection_finish); `prepare()` parses the session's dbt
    manifest first and returns its path."""
    child = config.stash.get(_CHILD, None)
    if child is not None and child.process is None:
        child.start(prepare())


def stop(config: pytest.Config) -> None:
    """Kill the second process if it still runs, remove its folder (pytest_sessionfinish)."""
    child = config.stash.get(_CHILD, None)
    if child is not None:
        child.stop()


def summary(terminalreporter, config: pytest.Config) -> None:
    """The second process's own summary (durations, counts) in the session's report (pytest_terminal_summary)."""
    child = config.stash.get(_CHILD, None)
    if child is None or child.seconds is None:
        return
    terminalreporter.section(f"background pytest process: {len(child.nodeids)} tests, {child.seconds:.0f} s wall")
    for line in child.report:
        terminalreporter.write_line(line)


# ------------------------------------------------------------------ the plugin, loaded in the second process only
_REPORTS: dict[str, list] = {}


def _outcome(reports: list) -> Outcome:
    failed = [r for r in reports if r.failed]
    if failed:
        return Outcome("failed", "\n".join(f"[{r.when}] {r.longreprtext}" for r in failed))
    skipped = [r for r in reports if r.skipped]
    if skipped and hasattr(skipped[0], "wasxfail"):
        return Outcome("xfailed", str(skipped[0].wasxfail))
    if skipped:
        longrepr = skipped[0].longrepr
        return Outcome("skipped", str(longrepr[2] if isinstance(longrepr, tuple) else longrepr))
    return Outcome("passed")


def pytest_runtest_logreport(report) -> None:
    if os.environ.get(RESULTS_ENV):
        _REPORTS.setdefault(report.nodeid, []).append(report)


def pytest_sessionfinish(session) -> None:
    path = os.environ.get(RESULTS_ENV)
    if path:
        outcomes = {nodeid: vars(_outcome(reports)) for nodeid, reports in _REPORTS.items()}
        Path(path).write_text(json.dumps(outcomes))
