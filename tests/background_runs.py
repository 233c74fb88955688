"""Slow runs started at collection in background processes, each declared by the test module that needs it.

A test module lists its runs in a module-level `BACKGROUND_RUNS` tuple of `BackgroundRun`s. When any of its tests
is selected, conftest.py's `pytest_collection_finish` calls `start_declared`: the declared runs (each once, in
collection order) start one after the other in a background lane (a thread waiting on one subprocess at a time),
so a pipeline run on another engine overlaps with the session's foreground tests on the second core without
starving them. A test asks for its run with `handle(config, run)` (waits until the lane reaches it; a run that was
not declared at collection starts then) and waits for the process. `stop_all` (session finish) kills what is left,
stops the shared PostgreSQL server and removes the runs' temp folders.

A run's `start(shared)` prepares what it needs (a database on the shared server, a temp folder) and returns a
`BackgroundProcess`; it returns None when the run cannot happen here (no PostgreSQL binaries): the test skips.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


class BackgroundProcess:
    """A shell command run in `root` with `env` added, its output in `root/run.log`."""

    def __init__(self, root: Path, script: str, env: dict[str, str]) -> None:
        self.root, self.log = root, root / "run.log"
        full_env = {**os.environ, **env, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
        full_env.pop("DAGSTER_HOME", None)  # an ephemeral Dagster instance, as in the in-process runs
        self.started = time.perf_counter()
        self._log_file = self.log.open("w")
        self.process = subprocess.Popen(
            ["sh", "-c", script], cwd=REPO, env=full_env, stdout=self._log_file, stderr=subprocess.STDOUT
        )
        self.seconds: float | None = None

    def wait(self, timeout: float | None = 1800) -> int:
        code = self.process.wait(timeout=timeout)
        if self.seconds is None:
            self.seconds = time.perf_counter() - self.started
            self._log_file.close()
        return code

    def log_tail(self, chars: int = 6000) -> str:
        return self.log.read_text(errors="replace")[-chars:]

    def check(self, what: str) -> None:
        """Wait, and fail the test with the log's tail when the command failed."""
        code = self.wait()
        assert code == 0, f"{what} failed (exit {code}):\n{self.log_tail()}"
        print(f"\n{what}: {self.seconds:.1f}s in the background")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if not self._log_file.closed:
            self._log_file.close()


def python_script(*commands: list[str]) -> str:
    """`python <args> && python <args> ...` with this interpreter, quoted for `sh -c`."""
    python = shlex.quote(sys.executable)
    return " && ".join(f"{python} " + " ".join(shlex.quote(str(a)) for a in args) for args in commands)


class Shared:
    """What the runs (and tests) of a session share: one PostgreSQL server, temp folders removed at the end."""

    def __init__(self) -> None:
        self._server = None
        self._folders: list[Path] = []
        self._lock = threading.Lock()

    def postgres(self):
        """The session's PostgreSQL server (started on first use), or None without server binaries."""
        import postgres_server

        with self._lock:
            if self._server is None:
                bindir = postgres_server.find_bindir()
                if bindir is None:
                    return None
                self._server = postgres_server.PostgresServer(bindir).start()
            return self._server

    def started_postgres(self):
        """The server if a run or test started it, else None (never starts one: cpu_log.py reads its CPU)."""
        return self._server

    def temp_dir(self, prefix: str) -> Path:
        folder = Path(tempfile.mkdtemp(prefix=prefix))
        self._folders.append(folder)
        return folder

    def close(self) -> None:
        if self._server is not None:
            self._server.stop()
        for folder in self._folders:
            shutil.rmtree(folder, ignore_errors=True)


@dataclass(frozen=True)
class BackgroundRun:
    """A slow run a test module needs: `start(shared)` → a BackgroundProcess, or None when it cannot run here."""

    name: str
    start: Callable[[Shared], BackgroundProcess | None]


@dataclass
class _Lane:
    shared: Shared = field(default_factory=Shared)
    handles: dict[str, BackgroundProcess | None] = field(default_factory=dict)
    errors: dict[str, BaseException] = field(default_factory=dict)
    ready: dict[str, threading.Event] = field(default_factory=dict)
    thread: threading.Thread | None = None
    stopping: bool = False

    def run(self, runs: list[BackgroundRun]) -> None:
        for run in runs:
            if self.stopping:
                break
            self._start(run)
            process = self.handles.get(run.name)
            if process is not None and self.stopping:
                process.stop()
            elif process is not None:
                # one run at a time: the lane is the second core; no timeout here — the test that needs the run
                # waits with one and fails with the log, a timeout in this thread would leave the later runs unstarted
                process.wait(timeout=None)

    def _start(self, run: BackgroundRun) -> None:
        try:
            self.handles[run.name] = run.start(self.shared)
        except BaseException as exc:  # the test that needs the run reports it
            self.errors[run.name] = exc
        finally:
            self.ready[run.name].set()


_LANE = pytest.StashKey[_Lane]()


def _lane(config: pytest.Config) -> _Lane:
    if _LANE not in config.stash:
        config.stash[_LANE] = _Lane()
    return config.stash[_LANE]


def shared(config: pytest.Config) -> Shared:
    return _lane(config).shared


def declared(items: list[pytest.Item]) -> list[BackgroundRun]:
    """The runs the selected items' modules declare (BACKGROUND_RUNS), each once, in collection order."""
    runs: dict[str, BackgroundRun] = {}
    for item in items:
        module = getattr(item, "module", None)
        for run in getattr(module, "BACKGROUND_RUNS", ()):
            runs.setdefault(run.name, run)
    return list(runs.values())


def start_declared(session: pytest.Session, prepare: Callable[[], object]) -> None:
    """Start the declared runs in the background lane; `prepare()` first (e.g. dbt's manifest, which every run's
    Dagster definitions read at import: parsed before any run starts, never while one reads it)."""
    runs = declared(session.items)
    if not runs:
        return
    prepare()
    lane = _lane(session.config)
    for run in runs:
        lane.ready[run.name] = threading.Event()
    lane.thread = threading.Thread(target=lane.run, args=(runs,), name="background-runs", daemon=True)
    lane.thread.start()


def handle(config: pytest.Config, run: BackgroundRun) -> BackgroundProcess | None:
    """The run's process: the one started at collection (waiting for the lane to reach it), else started now."""
    lane = _lane(config)
    if run.name not in lane.ready:
        lane.ready[run.name] = threading.Event()
        lane._start(run)
    lane.ready[run.name].wait()
    if run.name in lane.errors:
        raise lane.errors[run.name]
    return lane.handles[run.name]


def stop_all(config: pytest.Config) -> None:
    """Kill what is still running, stop the shared server, remove the temp folders."""
    lane = config.stash.get(_LANE, None)
    if lane is None:
        return
    lane.stopping = True
    for process in list(lane.handles.values()):
        if process is not None:
            process.stop()
    if lane.thread is not None:
        lane.thread.join(timeout=60)
    for process in list(lane.handles.values()):  # one the lane started while the others were stopped
        if process is not None:
            process.stop()
    lane.shared.close()
