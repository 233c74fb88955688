"""The demo pipeline on a local Spark, started in the background at collection (conftest.py calls `start`).

The run is what a user runs (`exptrack run`, as the PostgreSQL run): the demo generator (seed 7, the session's
scale), then ingestion, the registry, every dbt model and test (`dbt build` on the `spark` target), the statistics,
monitoring (health, alerts outbox, automatic pause, feature flags) and lifecycle against one local Spark server
(tests/spark_server.py). The operational state lives in the state store beside Spark: the DuckDB file
`exptrack-state.duckdb` of the run's folder (EXPTRACK_STATE_URL; exptrack_pipeline/warehouse/state_store.py).
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from pipeline_support import BackgroundPipeline

TESTS = Path(__file__).resolve().parent
MODULES = {"test_spark_pipeline.py", "test_spark_landing.py"}  # the modules that use the server
NO_JAVA = (
    "SKIPPED LOUDLY: no java on PATH or in $JAVA_HOME, so the Spark pipeline test cannot run. Install a JRE 17 "
    "(apt-get install openjdk-17-jre-headless; .ci/run does it) — Spark is an acceptance target of issue 18."
)
NO_PYSPARK = "pyspark is not installed: `make test` installs the `spark` extra (pip install -e '.[test,spark]')"


@dataclass
class SparkBackgroundRun:
    """The server, the pipeline subprocess and its folder (deleted by `stop`)."""

    server: object
    run: object
    root: Path

    @property
    def state_file(self) -> Path:
        """The run's state store (alerts, pauses, lifecycle, flags): a DuckDB file."""
        return self.root / "exptrack-state.duckdb"

    def stop(self) -> None:
        """Kill the run if it is still going, stop the JVM, delete the folder."""
        self.run.stop()
        self.server.stop()
        shutil.rmtree(self.root, ignore_errors=True)


_KEY = pytest.StashKey[object]()


def skip_reason() -> str | None:
    """Why the Spark test cannot run here (no java / no pyspark), or None."""
    import spark_server

    if spark_server.find_java() is None:
        return NO_JAVA
    if spark_server.find_spark_home() is None:
        return NO_PYSPARK
    return None


def start(session, start_day: str, end_day: str, scale: float, prepare=lambda: None) -> None:
    """When test_spark_pipeline.py is selected: start the server and the pipeline run now, in the background."""
    if not any(item.path.name in MODULES for item in session.items) or skip_reason():
        return
    prepare()  # the dbt manifest, before the run imports the definitions
    start_now(session.config, start_day, end_day, scale)


def start_now(config, start_day: str, end_day: str, scale: float) -> None:
    """Start the server and the pipeline subprocess; stashed in `config` for `started` and `stop`."""
    import spark_server

    server = spark_server.SparkServer(spark_server.find_spark_home()).start()
    root = Path(tempfile.mkdtemp(prefix="exptrack-spark-run-"))
    env = {**server.env(), "EXPTRACK_STATE_URL": str(root / "exptrack-state.duckdb")}
    run = BackgroundPipeline(root, env, start_day, end_day, scale)  # `exptrack run`, as on PostgreSQL
    config.stash[_KEY] = SparkBackgroundRun(server, run, root)


def stop(session) -> None:
    """Stop what `start` started (pytest_sessionfinish)."""
    started = session.config.stash.get(_KEY, None)
    if started is not None:
        started.stop()


def started(config) -> SparkBackgroundRun | None:
    """The background run `start` stashed, or None (the module was not selected at collection)."""
    return config.stash.get(_KEY, None)
