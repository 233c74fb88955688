"""The `dbt` resource: dagster-dbt's DbtCliResource without two start-up costs every run paid for nothing.

Before each `dbt build`, DbtCliResource (dagster-dbt 0.29) (1) runs `dbt --version` in a subprocess to learn the dbt
version — dbt imports its adapters and asks PyPI for the latest release, a network call in the middle of a pipeline
run (≈ 2 CPU-s and 2–5 s of wall time here, longer when PyPI is slow or unreachable) — and (2) imports dbt into the
Dagster process and loads the profile and project to build an adapter (≈ 2 CPU-s, +50 MB resident), which it
uses only for the optional row-count and column-metadata fetches (`.fetch_row_counts()`,
`.fetch_column_metadata()`) this project does not call. Here the version is the dbt-core installed beside this
Python (the venv's `dbt`, `defs/project.py:dbt_executable`) and no adapter is built: the dbt subprocess does the
work exactly as before.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from functools import cached_property
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as installed_version

from dagster_dbt import DbtCliResource
from packaging import version

FILE_LOG_LEVEL_VAR = "DBT_LOG_LEVEL_FILE"
"""dbt's own variable for the level of its file log (`dbt.log` in the run's target folder)."""


def file_log_args(environ: Mapping[str, str] = os.environ) -> list[str]:
    """`--log-level-file none` unless DBT_LOG_LEVEL_FILE asks for a level: the pipeline's dbt writes no `dbt.log`.

    dagster-dbt reads dbt's events from its stdout (JSON lines, shown in the Dagster run), so the file log is a
    second copy of every event — at dbt's default level (debug) also every SQL statement — each line serialized
    to JSON and scanned for secrets again: ≈ 0.8 CPU-s of a 10M empty increment's ≈ 17 (BENCHMARKS.md, "Branch
    `fixed10M`"). `DBT_LOG_LEVEL_FILE=debug` brings the full log back for a diagnosis.
    """
    return ["--log-level-file", environ.get(FILE_LOG_LEVEL_VAR) or "none"]


WRITE_JSON_VAR = "DBT_WRITE_JSON"
"""dbt's own variable for writing its JSON artifacts (manifest.json, semantic_manifest.json, run_results.json)."""


def write_json_args(environ: Mapping[str, str] = os.environ) -> list[str]:
    """`--no-write-json` unless DBT_WRITE_JSON is set: the pipeline's dbt writes no JSON artifacts.

    A `dbt build` writes manifest.json (1.7 MB) and semantic_manifest.json twice — after the parse and again at the
    end — and run_results.json, into the run's own target folder: ≈ 0.7 CPU-s of a 10M empty daily run's ≈ 20
    (BENCHMARKS.md) and ≈ 3.5 MB of disk per run that nothing reads. Dagster reads every node's outcome and timing
    from dbt's stdout, the next run starts from `partial_parse.msgpack` (written either way,
    defs/dbt/parse_cache.py), and the Dagster definitions read the manifest of `make manifest` / `dbt parse`.
    `DBT_WRITE_JSON=true` brings the artifacts back (e.g. for dbt's own tooling on one run's target folder).
    """
    return [] if environ.get(WRITE_JSON_VAR) else ["--no-write-json"]


class ExptrackDbtCliResource(DbtCliResource):
    """DbtCliResource that reads dbt's version from the installed dbt-core and builds no in-process adapter."""

    @cached_property
    def _cli_version(self) -> version.Version:
        """dbt-core's installed version (no `dbt --version` subprocess); dagster-dbt's way if it is not installed."""
        try:
            return version.parse(installed_version("dbt-core"))
        except PackageNotFoundError:  # a dbt outside this Python (e.g. the Fusion engine): ask the executable
            return super()._cli_version

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:
        """No adapter in the Dagster process: it only serves metadata fetches this project does not use."""
        return None
