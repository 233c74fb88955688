"""The demo pipeline on a local Spark, started in the background at collection (conftest.py calls `start`).

The run is the documented pieces in a subprocess (`python tests/spark_support.py run ROOT`): the demo generator
(seed 7, the session's scale), then Dagster's `ingest_job` for the demo range and the warehouse part of
`analysis_job` — the registry, every dbt model and test (`dbt build` on the `spark` target) and the statistics assets
(experiment_results, retention_results, segment_results) — against one local Spark server (tests/spark_server.py).
"""

from __future__ import annotations

import os
import shutil
import sys
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
    runner = (__file__, "run")  # instead of `exptrack run`: the warehouse part (run_warehouse_pipeline)
    run = BackgroundPipeline(root, server.env(), start_day, end_day, scale, runner=runner)
    config.stash[_KEY] = SparkBackgroundRun(server, run, root)


def stop(session) -> None:
    """Stop what `start` started (pytest_sessionfinish)."""
    started = session.config.stash.get(_KEY, None)
    if started is not None:
        started.stop()


def started(config) -> SparkBackgroundRun | None:
    """The background run `start` stashed, or None (the module was not selected at collection)."""
    return config.stash.get(_KEY, None)


def run_warehouse_pipeline(start_day: str, end_day: str) -> None:
    """Ingest the demo range, then materialize the registry, the dbt assets and the statistics assets (Settings from
    the environment: EXPTRACK_DBT_TARGET=spark, SPARK_REMOTE)."""
    import datetime as dt

    import dagster as dg

    from exptrack_pipeline.commands.pipeline import RANGE_END, RANGE_START
    from exptrack_pipeline.config import Settings
    from exptrack_pipeline.definitions import build_definitions

    settings = Settings.from_env()
    settings.export()
    defs = build_definitions(settings)
    tags = {RANGE_START: dt.date.fromisoformat(start_day).isoformat(), RANGE_END: end_day}
    dbt_groups = [f"dbt_{folder}" for folder in ("staging", "intermediate", "marts", "monitoring", "lifecycle")]
    warehouse_part = dg.AssetSelection.groups("registry", *dbt_groups) | dg.AssetSelection.assets(
        "experiment_results", "retention_results", "segment_results"
    )
    job = dg.define_asset_job("spark_warehouse_job", selection=warehouse_part)
    defs = dg.Definitions.merge(defs, dg.Definitions(jobs=[job]))
    with dg.DagsterInstance.ephemeral() as instance:
        for name, run_tags in (("ingest_job", tags), ("spark_warehouse_job", {})):
            result = defs.resolve_job_def(name).execute_in_process(
                run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
                instance=instance,
                tags=run_tags,
                raise_on_error=True,
            )
            print(f"{name}: success={result.success}", flush=True)
    from exptrack_pipeline.defs.results.assets import latest_primary_markdown
    from exptrack_pipeline.warehouse import open_warehouse

    results = open_warehouse(settings).read_df("select * from main.experiment_results")
    print(f"latest primary results on {open_warehouse(settings).describe()}:\n{latest_primary_markdown(results)}")


if __name__ == "__main__":  # the background subprocess: python tests/spark_support.py run --start DAY --end DAY
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    run_warehouse_pipeline(sys.argv[3], sys.argv[5])
