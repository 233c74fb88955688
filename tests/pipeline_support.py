"""Helpers shared by test modules (import as `pipeline_support`; every conftest.py is a module named `conftest`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class PipelineRun:
    settings: object
    truth: dict

    @property
    def warehouse(self) -> Path:
        return self.settings.warehouse

    def query(self, sql: str, params: list | None = None):
        import duckdb

        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            return con.execute(sql, params or []).df()


def make_settings(root: Path, experiments_dir: Path | None = None):
    from exptrack_pipeline.config import Settings

    experiments_dir = experiments_dir or REPO / "experiments"
    return Settings(
        raw_dir=root / "raw",
        experiments_dir=experiments_dir,
        metrics_file=experiments_dir / "metrics.yaml",
        warehouse=root / "warehouse.duckdb",
        output_dir=root / "output",
    )


class BackgroundPipeline:
    """The documented commands (`python -m exptrack_pipeline.demo.generate`, `exptrack run`) in a subprocess, started
    early so a second pipeline (the PostgreSQL run) overlaps with the session's other tests on the other core."""

    def __init__(self, root: Path, env: dict[str, str], start: str, end: str, scale: float) -> None:
        import os
        import shlex
        import subprocess
        import sys
        import time

        self.root = root
        self.raw_dir, self.output_dir, self.log = root / "raw", root / "output", root / "run.log"
        python = shlex.quote(sys.executable)
        script = (
            f"{python} -m exptrack_pipeline.demo.generate --out {shlex.quote(str(self.raw_dir))} --seed 7 "
            f"--scale {scale} && "
            f"{python} -m exptrack_pipeline.cli run --start {start} --end {end}"
        )
        full_env = {
            **os.environ,
            **env,
            "EXPTRACK_RAW_DIR": str(self.raw_dir),
            "EXPTRACK_OUTPUT_DIR": str(self.output_dir),
            "EXPTRACK_WAREHOUSE": str(root / "unused.duckdb"),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        }
        full_env.pop("DAGSTER_HOME", None)  # an ephemeral Dagster instance, as in the in-process runs
        self.started = time.perf_counter()
        self._log_file = self.log.open("w")
        self.process = subprocess.Popen(
            ["sh", "-c", script], cwd=REPO, env=full_env, stdout=self._log_file, stderr=subprocess.STDOUT
        )
        self.seconds: float | None = None

    def wait(self, timeout: float = 1200) -> int:
        import time

        code = self.process.wait(timeout=timeout)
        if self.seconds is None:
            self.seconds = time.perf_counter() - self.started
            self._log_file.close()
        return code

    def log_tail(self, chars: int = 6000) -> str:
        return self.log.read_text(errors="replace")[-chars:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if not self._log_file.closed:
            self._log_file.close()
