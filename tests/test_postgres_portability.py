"""The dbt project runs unchanged on PostgreSQL and gives the same numbers as on DuckDB.

A real PostgreSQL server (tests/postgres_server.py: initdb in a temp dir, 127.0.0.1, a free port) receives the dbt
source tables of the session's DuckDB demo warehouse — every `source()` the project declares: raw.*, registry.* and
state.experiment_status_events — with their column types. `dbt build --target postgres` then builds and tests every
model there. The marts must equal DuckDB's (sorted by their keys, numbers to 1e-9 relative), and the statistics
library run on PostgreSQL's fct_variant_metric_stats must reproduce DuckDB's experiment_results to 1e-9.

Skipped only when no PostgreSQL server binaries can be found (`python3 tests/postgres_server.py install`).
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

import postgres_server

REPO = Path(__file__).resolve().parents[1]
DBT_DIR = REPO / "dbt_project"
RTOL = 1e-9
DBT_TIMEOUT_SECONDS = 600

# The compared models with their keys (the unique / unique_combination tests of their schema files).
MODEL_KEYS = {
    "fct_variant_metric_stats": ["experiment_id", "metric_id", "variant", "analysis_date"],
    "fct_daily_exposures": ["experiment_id", "variant", "exposure_date"],
    "fct_retention_cohorts": ["experiment_id", "variant", "cohort_date", "day_since_exposure"],
    "fct_segment_metric_stats": ["experiment_id", "metric_id", "variant", "attribute", "attribute_value"],
    "dim_experiment_exposure_quality": ["experiment_id"],
    # Built by the same `dbt build` and read by the Python assets too: compared as well.
    "fct_segment_exposures": ["experiment_id", "variant", "attribute", "attribute_value"],
    "int_experiment_analysis_dates": ["experiment_id", "analysis_date"],
    "int_unit_metric_values": ["experiment_id", "metric_id", "user_id"],
    "mon_experiment_daily_activity": ["experiment_id", "activity_date"],
    "mon_variant_metric_daily": ["experiment_id", "metric_id", "variant", "activity_date"],
    "lifecycle_novelty_stats": ["experiment_id", "metric_id", "variant", "period"],
    "lifecycle_interaction_stats": ["experiment_id", "other_experiment_id", "other_arm", "variant"],
    "dim_experiment_status": ["experiment_id"],
}
RESULT_KEYS = ["experiment_id", "metric_id", "variant", "analysis_date"]

# DuckDB column type -> PostgreSQL column type of the loaded source tables.
PG_TYPES = {
    "VARCHAR": "text",
    "BIGINT": "bigint",
    "INTEGER": "integer",
    "SMALLINT": "smallint",
    "HUGEINT": "numeric(38, 0)",
    "DOUBLE": "double precision",
    "FLOAT": "real",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    '"NULL"': "text",  # a column pandas wrote with only nulls (registry.experiments.layer when no experiment has one)
}


def _dbt() -> str:
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else "dbt"


# ---------------------------------------------------------------------------------------------------------------------
# Loading the dbt sources from DuckDB into PostgreSQL
# ---------------------------------------------------------------------------------------------------------------------
def dbt_source_tables(manifest_path: Path) -> list[tuple[str, str]]:
    """(schema, table) of every source the dbt project declares."""
    manifest = json.loads(Path(manifest_path).read_text())
    return sorted({(s["schema"], s.get("identifier") or s["name"]) for s in manifest["sources"].values()})


def copy_table(duck: duckdb.DuckDBPyConnection, pg, schema: str, table: str, scratch: Path) -> int:
    """Create `schema.table` in PostgreSQL with the DuckDB column types and COPY the rows in.

    DuckDB writes the CSV (ten times faster than pandas' to_csv for the 1.3M demo events): doubles in their shortest
    round-trip form, so every value arrives bit for bit; null as \\N, so an empty string stays an empty string.
    """
    columns = duck.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, table],
    ).fetchall()
    if not columns:
        raise AssertionError(f"the DuckDB warehouse has no table {schema}.{table}, which a dbt source declares")
    unknown = {duck_type for _, duck_type in columns if duck_type not in PG_TYPES}
    assert not unknown, f"{schema}.{table}: no PostgreSQL type mapped for DuckDB types {unknown}"
    ddl = ", ".join(f'"{name}" {PG_TYPES[duck_type]}' for name, duck_type in columns)
    csv_file = scratch / f"{schema}.{table}.csv"
    duck.execute(f"""copy "{schema}"."{table}" to '{csv_file}' (format csv, header false, nullstr '\\N')""")
    (rows,) = duck.execute(f'select count(*) from "{schema}"."{table}"').fetchone()
    with pg.cursor() as cur, csv_file.open() as data:
        cur.execute(f'create schema if not exists "{schema}"')
        cur.execute(f'drop table if exists "{schema}"."{table}" cascade')
        cur.execute(f'create table "{schema}"."{table}" ({ddl})')
        cur.copy_expert(f"""copy "{schema}"."{table}" from stdin with (format csv, null '\\N')""", data)
        assert cur.rowcount == rows, f"{schema}.{table}: copied {cur.rowcount} of {rows} rows"
        cur.execute(f'analyze "{schema}"."{table}"')
    pg.commit()
    csv_file.unlink()
    return rows


def load_sources(warehouse: Path, pg, tables: list[tuple[str, str]]) -> dict[str, int]:
    with (
        duckdb.connect(str(warehouse), read_only=True) as duck,
        tempfile.TemporaryDirectory(prefix="exptrack-pg-load-") as scratch,
    ):
        return {f"{schema}.{table}": copy_table(duck, pg, schema, table, Path(scratch)) for schema, table in tables}


def run_dbt_build(env_overrides: dict[str, str], work_dir: Path) -> subprocess.CompletedProcess:
    """`dbt build --target postgres` with its own target and log paths (dbt_project/target/ is DuckDB's, for Dagster)."""
    env = {**os.environ, **env_overrides, "EXPTRACK_DBT_TARGET": "postgres", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    command = [
        _dbt(), "build",
        "--target", "postgres",
        "--profiles-dir", ".",
        "--target-path", str(work_dir / "target"),
        "--log-path", str(work_dir / "logs"),
        "--no-use-colors",
    ]
    try:
        return subprocess.run(command, cwd=DBT_DIR, env=env, capture_output=True, text=True, timeout=DBT_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired as timeout:
        out = timeout.stdout.decode(errors="replace") if isinstance(timeout.stdout, bytes) else (timeout.stdout or "")
        return subprocess.CompletedProcess(command, -1, out + f"\n(dbt build timed out after {DBT_TIMEOUT_SECONDS}s)", "")


# ---------------------------------------------------------------------------------------------------------------------
# Reading and comparing
# ---------------------------------------------------------------------------------------------------------------------
def read_pg(pg, sql: str) -> pd.DataFrame:
    """A query's rows as a frame typed like DuckDB's `.df()`: numeric -> float, date/timestamp -> datetime64."""
    with pg.cursor() as cur:
        cur.execute(sql)
        names = [d.name for d in cur.description]
        rows = cur.fetchall()
    frame = pd.DataFrame.from_records(rows, columns=names)
    for name in names:
        values = frame[name].dropna()
        if values.empty:
            continue
        if isinstance(values.iloc[0], decimal.Decimal):
            frame[name] = frame[name].astype(float)
        elif isinstance(values.iloc[0], (dt.date, dt.datetime)):
            frame[name] = pd.to_datetime(frame[name])
    return frame


def _is_number(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def assert_same_table(duck_frame: pd.DataFrame, pg_frame: pd.DataFrame, keys: list[str], name: str) -> None:
    """Same columns and rows (sorted by the key); numbers equal to RTOL relative (an int may arrive as a float)."""
    assert list(pg_frame.columns) == list(duck_frame.columns), f"{name}: columns differ"
    assert len(pg_frame) == len(duck_frame), f"{name}: {len(pg_frame)} rows on PostgreSQL, {len(duck_frame)} on DuckDB"
    duck_sorted = duck_frame.sort_values(keys, kind="mergesort").reset_index(drop=True)
    pg_sorted = pg_frame.sort_values(keys, kind="mergesort").reset_index(drop=True)
    for column in duck_frame.columns:
        d, p = duck_sorted[column], pg_sorted[column]
        if _is_number(d) or _is_number(p):
            np.testing.assert_allclose(
                p.to_numpy(dtype=float), d.to_numpy(dtype=float), rtol=RTOL, atol=0, equal_nan=True,
                err_msg=f"{name}.{column} differs between PostgreSQL and DuckDB",
            )
            continue
        if pd.api.types.is_datetime64_any_dtype(d) or pd.api.types.is_datetime64_any_dtype(p):
            d, p = pd.to_datetime(d).astype("datetime64[us]"), pd.to_datetime(p).astype("datetime64[us]")
        same = (p.astype(object) == d.astype(object)) | (p.isna() & d.isna())
        assert same.all(), (
            f"{name}.{column} differs between PostgreSQL and DuckDB in {int((~same).sum())} rows, e.g.\n"
            f"{pd.DataFrame({'postgres': p[~same], 'duckdb': d[~same]}).head()}"
        )


# ---------------------------------------------------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pg_server():
    bindir = postgres_server.find_bindir()
    if bindir is None:
        pytest.skip(
            "no PostgreSQL server binaries (initdb, pg_ctl, postgres) on PATH, via pg_config or in "
            "/usr/lib/postgresql/*/bin: install them with `python3 tests/postgres_server.py install` "
            "(apt-get install postgresql) or point EXPTRACK_PG_BINDIR at them"
        )
    server = postgres_server.PostgresServer(bindir)
    server.start()
    try:
        yield server
    finally:
        server.stop()


class PostgresBuild:
    """The outcome of `dbt build --target postgres`, and queries against that database."""

    def __init__(self, server, dbname: str, loaded: dict, build: subprocess.CompletedProcess, run_results: dict) -> None:
        self.server, self.dbname, self.loaded, self.build, self.run_results = server, dbname, loaded, build, run_results

    def query(self, sql: str) -> pd.DataFrame:
        con = self.server.connect(self.dbname)
        try:
            return read_pg(con, sql)
        finally:
            con.close()

    def require_success(self) -> None:
        if self.build.returncode != 0:
            pytest.fail(f"dbt build --target postgres failed:\n{self.build.stdout[-6000:]}\n{self.build.stderr[-2000:]}")


def tables_without_statistics_hook(manifest_path: Path) -> list[str]:
    """Table models whose post-hooks do not call exptrack_analyze_table (macros/portable/exptrack_analyze_table.sql)."""
    manifest = json.loads(Path(manifest_path).read_text())
    return sorted(
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and node["config"].get("materialized") in ("table", "incremental")
        and not any("exptrack_analyze_table" in hook.get("sql", "") for hook in node["config"].get("post-hook", []))
    )


@pytest.fixture(scope="session")
def statistics_hook_configured(dbt_manifest) -> None:
    """Fail in a second rather than after a 10-minute build (session scope: set up before the session's demo_run)."""
    missing = tables_without_statistics_hook(dbt_manifest)
    if missing:
        # Fresh tables without planner statistics make PostgreSQL pick a merge join with user_id as a join filter in
        # int_unit_metric_values: 3 s with statistics, 10+ minutes without.
        pytest.fail(
            f"table models without the post-hook exptrack_analyze_table(): {missing}. Add to dbt_project.yml "
            'under `models: exptrack:` the line `+post-hook: "{{ exptrack_analyze_table() }}"`'
        )


@pytest.fixture(scope="module")
def pg_build(statistics_hook_configured, demo_run, dbt_manifest, pg_server) -> PostgresBuild:
    """The demo warehouse's dbt sources loaded into PostgreSQL, then `dbt build --target postgres` on them."""
    dbname = "exptrack"
    started = time.perf_counter()
    pg_server.create_database(dbname)
    con = pg_server.connect(dbname)
    try:
        loaded = load_sources(demo_run.warehouse, con, dbt_source_tables(dbt_manifest))
    finally:
        con.close()
    load_seconds = time.perf_counter() - started
    with tempfile.TemporaryDirectory(prefix="exptrack-dbt-pg-") as work:
        started = time.perf_counter()
        build = run_dbt_build(pg_server.env(dbname), Path(work))
        build_seconds = time.perf_counter() - started
        results_file = Path(work) / "target" / "run_results.json"
        run_results = json.loads(results_file.read_text()) if results_file.exists() else {"results": []}
    print(f"\nPostgreSQL: sources loaded in {load_seconds:.1f}s, dbt build in {build_seconds:.1f}s")
    return PostgresBuild(pg_server, dbname, loaded, build, run_results)


# ---------------------------------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------------------------------
def test_sources_arrive_with_their_column_types(pg_build):
    assert pg_build.loaded["raw.events"] > 100_000 and pg_build.loaded["raw.exposures"] > 10_000, pg_build.loaded
    types = pg_build.query(
        "select table_schema || '.' || table_name || '.' || column_name as col, data_type from information_schema.columns "
        "where table_schema in ('raw', 'registry', 'state')"
    ).set_index("col")["data_type"]
    assert types["raw.events.occurred_at"] == "timestamp without time zone"
    assert types["raw.events.partition_date"] == "date"
    assert types["raw.events.value"] == "double precision"
    assert types["registry.experiment_variants.is_control"] == "boolean"
    assert types["state.experiment_status_events.changed_at"] == "timestamp without time zone"


def test_dbt_build_passes_on_postgres(pg_build):
    """Every model builds and every schema and singular test passes on PostgreSQL."""
    pg_build.require_success()
    results = pg_build.run_results["results"]
    not_ok = [(r["unique_id"], r["status"], r.get("message")) for r in results if r["status"] not in ("success", "pass")]
    assert not not_ok, f"not successful on PostgreSQL: {not_ok}"
    models = [r for r in results if r["unique_id"].startswith("model.")]
    tests = [r for r in results if r["unique_id"].startswith("test.")]
    assert len(models) >= 30 and len(tests) >= 100, f"only {len(models)} models and {len(tests)} tests ran"


@pytest.mark.parametrize("model", list(MODEL_KEYS))
def test_model_identical_on_postgres(demo_run, pg_build, model):
    pg_build.require_success()
    duck_frame = demo_run.query(f"select * from main.{model}")
    assert len(duck_frame) > 0, f"{model} is empty on DuckDB: nothing would be compared"
    assert_same_table(duck_frame, pg_build.query(f'select * from main."{model}"'), MODEL_KEYS[model], model)


def test_experiment_results_identical_between_duckdb_and_postgres(demo_run, pg_build):
    """The headline: the statistics library on PostgreSQL's fct_variant_metric_stats reproduces experiment_results."""
    from exptrack_pipeline.analysis.results import compute_results
    from exptrack_pipeline.schemas import VariantMetricStats

    pg_build.require_success()
    stats = VariantMetricStats.validate(pg_build.query("select * from main.fct_variant_metric_stats"))
    alphas = pg_build.query("select experiment_id, alpha from registry.experiments").set_index("experiment_id")["alpha"]
    on_postgres = compute_results(stats, alphas)
    on_duckdb = demo_run.query("select * from main.experiment_results")
    assert len(on_duckdb) > 0
    assert list(on_postgres.columns) == list(on_duckdb.columns)
    assert_same_table(on_duckdb, on_postgres, RESULT_KEYS, "experiment_results")
