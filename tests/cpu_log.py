"""CPU seconds per test and per session, for measuring the suite (issues 16/18: `make test` on 2 cores).

Wall time says nothing on a shared machine; CPU seconds do. With `EXPTRACK_TEST_CPU_LOG=<file>` set, conftest.py
registers this plugin and it appends JSON lines to the file:

* one per test phase (`setup`, `call`, `teardown`): the pytest process's own CPU (`getrusage(RUSAGE_SELF)`) and its
  waited-for children's (`RUSAGE_CHILDREN`: dbt and `exptrack` subprocesses run to completion) during that phase.
  Tests of the second pytest process (background_tests.py) log there with `"process": "child"`.
* one `session` line when the foreground process ends: its total self and children CPU — the children now include
  every background lane, the second pytest process and the Spark JVM, all waited for at session finish — and the
  detached PostgreSQL server's (its postmaster's utime + stime + the backends it reaped, read from `/proc` just
  before the session stops it; `pg_ctl` detaches the server, so no rusage of ours ever counts it).

The session line is the number to compare (a module's cost); the per-test lines say where inside the foreground it
went. `python tests/cpu_log.py table FILE...` prints a markdown table of the session lines (one per module run).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path

import pytest

LOG_ENV = "EXPTRACK_TEST_CPU_LOG"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _rusage() -> tuple[float, float]:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def process_cpu(pid: int) -> float:
    """The CPU seconds (utime + stime + cutime + cstime) of a live process from /proc (0.0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(value) for value in fields[11:15]) / CLOCK_TICKS


def postgres_cpu(config: pytest.Config) -> float:
    """CPU of the session's PostgreSQL server so far (0.0 when none was started)."""
    import background_runs

    server = background_runs.shared(config).started_postgres()
    if server is None:
        return 0.0
    pid_file = server.data_dir / "postmaster.pid"
    try:
        return process_cpu(int(pid_file.read_text().split()[0]))
    except (OSError, ValueError, IndexError):
        return 0.0


class CpuLog:
    """The plugin: appends the JSON lines described in the module docstring."""

    def __init__(self, path: Path, child: bool) -> None:
        self.path, self.child = path, child
        self.start, self.start_wall = _rusage(), time.monotonic()
        self.postgres = 0.0

    def _write(self, record: dict) -> None:
        with self.path.open("a") as out:
            out.write(json.dumps(record) + "\n")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_setup(self, item):
        yield from self._phase(item, "setup")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item):
        yield from self._phase(item, "call")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_teardown(self, item):
        yield from self._phase(item, "teardown")

    def _phase(self, item, phase: str):
        before, wall = _rusage(), time.monotonic()
        yield
        after = _rusage()
        self._write(
            {
                "test": item.nodeid,
                "phase": phase,
                "process": "child" if self.child else "foreground",
                "self": round(after[0] - before[0], 2),
                "children": round(after[1] - before[1], 2),
                "wall": round(time.monotonic() - wall, 2),
            }
        )

    @pytest.hookimpl(tryfirst=True)  # before conftest.py stops the PostgreSQL server
    def pytest_sessionfinish(self, session):
        if not self.child:
            self.postgres = postgres_cpu(session.config)

    def pytest_unconfigure(self, config):  # after every lane, the second process and the Spark JVM were waited for
        if self.child:
            return
        end = _rusage()
        own, children = end[0] - self.start[0], end[1] - self.start[1]
        self._write(
            {
                "session": [str(arg) for arg in config.args],
                "self": round(own, 1),
                "children": round(children, 1),
                "postgres": round(self.postgres, 1),
                "total": round(own + children + self.postgres, 1),
                "wall": round(time.monotonic() - self.start_wall, 1),
                "load": os.getloadavg()[0],
            }
        )


def register(config: pytest.Config, child: bool) -> None:
    """Register the plugin when EXPTRACK_TEST_CPU_LOG names a file (pytest_configure)."""
    path = os.environ.get(LOG_ENV)
    if path:
        config.pluginmanager.register(CpuLog(Path(path), child), "exptrack_cpu_log")


def table(paths: list[Path]) -> str:
    """A markdown table of the session lines of the given logs: module(s), CPU-s (self, children, server, total)."""
    rows = [
        "| modules | pytest CPU-s | children CPU-s | PostgreSQL server CPU-s | total CPU-s | wall s |",
        "|---|---|---|---|---|---|",
    ]
    for path in paths:
        for line in path.read_text().splitlines():
            record = json.loads(line)
            if "session" in record:
                names = " ".join(Path(arg.split("::")[0]).name for arg in record["session"])
                rows.append(
                    f"| {names} | {record['self']} | {record['children']} | {record['postgres']} | "
                    f"**{record['total']}** | {record['wall']} |"
                )
    return "\n".join(rows)


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] != "table":
        sys.exit("usage: python tests/cpu_log.py table LOG...")
    print(table([Path(arg) for arg in sys.argv[2:]]))
