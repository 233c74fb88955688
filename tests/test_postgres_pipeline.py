"""The whole pipeline runs on PostgreSQL and gives the same numbers as on DuckDB.

A real PostgreSQL server (tests/postgres_server.py: initdb in a temp dir, 127.0.0.1, a free port) is the warehouse of
a second run of the session's demo pipeline over the same landing zone: `run_pipeline` (what `exptrack run` does)
with EXPTRACK_DBT_TARGET=postgres — ingestion (DuckDB reads the files, COPY loads PostgreSQL), the registry,
`dbt build --target postgres` (every model and test), the statistics, monitoring and lifecycle assets, all through
exptrack_pipeline.warehouse. Every table must equal the DuckDB run's: marts and experiment_results to 1e-9
relative, ingestion counts, health verdicts, alerts and pauses exactly.

Skipped only when no PostgreSQL server binaries can be found (`python3 tests/postgres_server.py install`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pipeline_support import POSTGRES_DEMO, make_settings

REPO = Path(__file__).resolve().parents[1]
RTOL = 1e-9
BACKGROUND_RUNS = (POSTGRES_DEMO,)  # started at collection (conftest.py, background_runs.py)

# The compared models with their keys (the unique / unique_combination tests of their schema files).
MODEL_KEYS = {
    "fct_variant_metric_stats": ["experiment_id", "metric_id", "variant", "analysis_date"],
    "fct_variant_metric_quantiles": ["experiment_id", "metric_id", "variant", "analysis_date"],
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
# Wall-clock times of each run (when the pause was recorded), which two runs cannot share.
RUN_TIME_COLUMNS = {"dim_experiment_status": ["status_changed_at"], "experiment_lifecycle": ["status_since"]}
RESULT_KEYS = ["experiment_id", "metric_id", "variant", "analysis_date"]
# 1.35M event rows: compared per file and event name (counts, distinct ids and users, value sums, time range)
# rather than row by row, which would spend a minute in Python
EVENTS_FINGERPRINT = (
    "select partition_date, source_file, event_name, count(*) as n_rows, count(distinct event_id) as n_ids, "
    "count(distinct user_id) as n_users, count(value) as n_values, sum(value) as value_sum, "
    "sum(source_row) as row_sum, min(occurred_at) as first_at, max(occurred_at) as last_at, "
    "count(distinct session_id) as n_sessions "
    "from raw.events group by partition_date, source_file, event_name"
)


# ---------------------------------------------------------------------------------------------------------------------
# Reading and comparing
# ---------------------------------------------------------------------------------------------------------------------
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
                p.to_numpy(dtype=float),
                d.to_numpy(dtype=float),
                rtol=RTOL,
                atol=0,
                equal_nan=True,
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


class PostgresRun:
    """The demo pipeline's run on PostgreSQL: its settings, and queries against that database."""

    def __init__(self, settings, warehouse, seconds: float) -> None:
        self.settings, self.warehouse, self.seconds = settings, warehouse, seconds

    def query(self, sql: str) -> pd.DataFrame:
        return self.warehouse.read_df(sql)


@pytest.fixture(scope="module")
def pg_run(statistics_hook_configured, demo_run, pg_server, background) -> PostgresRun:
    """`exptrack run` of the demo date range with EXPTRACK_DBT_TARGET=postgres over the same seeded demo data,
    started at collection in the background (BACKGROUND_RUNS, background_runs.py, pipeline_support.POSTGRES_DEMO)."""
    from exptrack_pipeline.config.settings import PostgresSettings
    from exptrack_pipeline.warehouse import PostgresWarehouse

    run = background(POSTGRES_DEMO)
    run.check("the demo pipeline on PostgreSQL (generate + exptrack run)")
    pg = PostgresSettings(
        host=pg_server.host, port=pg_server.port, user=pg_server.user, database="exptrack", sslmode="disable"
    )
    settings = make_settings(run.root).model_copy(
        update={"raw_dir": run.raw_dir, "output_dir": run.output_dir, "target": "postgres", "postgres": pg}
    )
    warehouse = PostgresWarehouse(
        host=pg.host, port=pg.port, user=pg.user, database=pg.database, sslmode=pg.sslmode, password=pg_server.password
    )
    return PostgresRun(settings, warehouse, run.seconds)


# ---------------------------------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------------------------------
def test_ingestion_into_postgres_conserves_every_row(demo_run, pg_run):
    """COPY from the DuckDB staging gives the same days, rows and quarantine as the DuckDB load, with the SQL types."""
    keys = ["source", "partition_date"]
    pg_log = pg_run.query("select * from raw.ingestion_log")
    assert len(pg_log) == 2 * 38, f"expected 38 days of 2 sources, got {len(pg_log)} rows"
    assert (
        pg_log["rows_read"] == pg_log["rows_loaded"] + pg_log["rows_quarantined"] + pg_log["rows_deduplicated"]
    ).all()
    assert pg_log["rows_quarantined"].sum() > 0 and pg_log["rows_deduplicated"].sum() > 0, (
        "the demo's bad rows did not arrive"
    )
    assert_same_table(demo_run.query("select * from raw.ingestion_log"), pg_log, keys, "raw.ingestion_log")
    quarantine_key = ["source", "partition_date", "source_file", "source_row", "reason"]
    assert_same_table(
        demo_run.query("select * from raw.quarantine"),
        pg_run.query("select * from raw.quarantine"),
        quarantine_key,
        "raw.quarantine",
    )
    assert_same_table(
        demo_run.query(EVENTS_FINGERPRINT),
        pg_run.query(EVENTS_FINGERPRINT),
        ["partition_date", "source_file", "event_name"],
        "raw.events",
    )
    types = pg_run.query(
        "select table_schema || '.' || table_name || '.' || column_name as col, data_type from "
        "information_schema.columns "
        "where table_schema in ('raw', 'registry', 'state')"
    ).set_index("col")["data_type"]
    assert types["raw.events.occurred_at"] == "timestamp without time zone"
    assert types["raw.events.partition_date"] == "date"
    assert types["raw.events.value"] == "double precision"
    assert types["registry.experiment_variants.is_control"] == "boolean"
    assert types["state.experiment_status_events.changed_at"] == "timestamp without time zone"


@pytest.mark.parametrize("model", list(MODEL_KEYS))
def test_model_identical_on_postgres(demo_run, pg_run, model):
    ignored = RUN_TIME_COLUMNS.get(model, [])
    duck_frame = demo_run.query(f"select * from main.{model}").drop(columns=ignored)
    assert len(duck_frame) > 0, f"{model} is empty on DuckDB: nothing would be compared"
    assert_same_table(
        duck_frame, pg_run.query(f'select * from main."{model}"').drop(columns=ignored), MODEL_KEYS[model], model
    )


def test_experiment_results_identical_between_duckdb_and_postgres(demo_run, pg_run):
    """The headline: the whole pipeline on PostgreSQL writes the same experiment_results as on DuckDB (1e-9)."""
    on_duckdb = demo_run.query("select * from main.experiment_results")
    on_postgres = pg_run.query("select * from main.experiment_results")
    assert len(on_duckdb) > 400, len(on_duckdb)  # 3 experiments × metrics × arms × 38 days
    assert_same_table(on_duckdb, on_postgres, RESULT_KEYS, "experiment_results")


@pytest.mark.parametrize(
    "table, keys",
    [
        ("retention_results", ["experiment_id", "variant", "retention_day"]),
        ("segment_results", ["experiment_id", "metric_id", "variant", "attribute", "attribute_value"]),
    ],
)
def test_breakdowns_identical_on_postgres(demo_run, pg_run, table, keys):
    duck_frame = demo_run.query(f"select * from main.{table}")
    assert len(duck_frame) > 0, f"{table} is empty on DuckDB"
    assert_same_table(duck_frame, pg_run.query(f"select * from main.{table}"), keys, table)


def test_monitoring_on_postgres_raises_the_same_alerts_and_pause(demo_run, pg_run):
    """Health verdicts, the outbox (alert ids are the exactly-once keys) and the automatic pause match DuckDB's."""
    verdicts = (
        "select experiment_id, check_name, as_of, status, level, trigger, triggered, event_date, summary from "
        "monitoring.health_findings"
    )
    assert_same_table(
        demo_run.query(verdicts), pg_run.query(verdicts), ["experiment_id", "check_name", "as_of"], "health_findings"
    )
    alerts = "select alert_id, experiment_id, trigger, level, destination, status from alerts.outbox"
    pg_alerts = pg_run.query(alerts)
    assert len(pg_alerts) > 0
    assert_same_table(demo_run.query(alerts), pg_alerts, ["alert_id"], "alerts.outbox")
    pauses = "select experiment_id, status, source, trigger, level from state.experiment_status_events"
    pg_pauses = pg_run.query(pauses)
    assert ("checkout_redesign", "paused", "automatic") in set(
        zip(pg_pauses.experiment_id, pg_pauses.status, pg_pauses.source, strict=True)
    )
    assert_same_table(
        demo_run.query(pauses), pg_pauses, ["experiment_id", "status", "trigger"], "experiment_status_events"
    )


def test_lifecycle_and_summary_identical_on_postgres(demo_run, pg_run):
    """The lifecycle tables and `exptrack summary`'s text are the same on both warehouses; reports are written."""
    from exptrack_pipeline.commands.tables import format_summary

    for table, keys in (("experiment_lifecycle", ["experiment_id"]), ("portfolio_metrics", ["metric"])):
        ignored = RUN_TIME_COLUMNS.get(table, [])
        assert_same_table(
            demo_run.query(f"select * from main.{table}").drop(columns=ignored),
            pg_run.query(f"select * from main.{table}").drop(columns=ignored),
            keys,
            table,
        )
    assert format_summary(pg_run.warehouse) == format_summary(demo_run.warehouse)
    reports = sorted(p.name for p in Path(pg_run.settings.output_dir).rglob("*.html"))
    assert reports == sorted(p.name for p in Path(demo_run.settings.output_dir).rglob("*.html")) and reports


def test_sources_can_read_event_tables_already_in_the_warehouse(pg_run, tmp_path):
    """EXPTRACK_RAW_SCHEMA points the `raw` source at another schema (a team's own event tables; here views)."""
    import subprocess

    tables = ["exposures", "exposure_attributes", "events", "quarantine", "ingestion_log"]
    statements = ["create schema if not exists product_events"] + [
        f"create or replace view product_events.{t} as select * from raw.{t} where partition_date <= date '2026-11-01'"
        for t in tables
    ]
    for statement in statements:
        pg_run.warehouse.execute(statement)
    env = {
        **os.environ,
        "EXPTRACK_DBT_TARGET": "postgres",
        "EXPTRACK_RAW_SCHEMA": "product_events",
        "EXPTRACK_PG_PASSWORD": pg_run.warehouse.password,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    pg = pg_run.settings.postgres
    env.update(
        EXPTRACK_PG_HOST=pg.host,
        EXPTRACK_PG_PORT=str(pg.port),
        EXPTRACK_PG_USER=pg.user,
        EXPTRACK_PG_DATABASE=pg.database,
        EXPTRACK_PG_SCHEMA="from_product_events",
        EXPTRACK_PG_SSLMODE=pg.sslmode,
    )
    from exptrack_pipeline.defs.project import dbt_executable

    done = subprocess.run(
        [
            dbt_executable(),
            "run",
            "--select",
            "stg_events",
            "--profiles-dir",
            ".",
            "--target-path",
            str(tmp_path / "target"),
            "--log-path",
            str(tmp_path / "logs"),
        ],
        cwd=Path(__file__).resolve().parents[1] / "dbt_project",
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    count = "select count(*) as n, max(partition_date) as last_day from {}"
    got = pg_run.query(count.format("from_product_events.stg_events"))
    assert got["last_day"].iloc[0] == pd.Timestamp("2026-11-01")
    assert (
        got["n"].iloc[0]
        == pg_run.query(count.format("raw.events where partition_date <= date '2026-11-01'"))["n"].iloc[0]
        > 0
    )


def test_cli_commands_work_against_postgres(pg_run, monkeypatch, tmp_path, capsys):
    """The terminal commands read and write the PostgreSQL warehouse through the same settings (last: it writes)."""
    from exptrack_pipeline.cli import main

    pg = pg_run.settings.postgres
    for name, value in {
        "EXPTRACK_DBT_TARGET": "postgres",
        "EXPTRACK_PG_HOST": pg.host,
        "EXPTRACK_PG_PORT": str(pg.port),
        "EXPTRACK_PG_USER": pg.user,
        "EXPTRACK_PG_DATABASE": pg.database,
        "EXPTRACK_PG_SSLMODE": pg.sslmode,
        "EXPTRACK_PG_PASSWORD": pg_run.warehouse.password,
        "EXPTRACK_EXPERIMENTS_DIR": str(pg_run.settings.experiments_dir),
        "EXPTRACK_METRICS_FILE": str(pg_run.settings.metrics_file),
        "EXPTRACK_RAW_DIR": str(pg_run.settings.raw_dir),
        "EXPTRACK_OUTPUT_DIR": str(tmp_path / "out"),
        "EXPTRACK_WAREHOUSE": str(tmp_path / "must-not-be-created.duckdb"),
    }.items():
        monkeypatch.setenv(name, value)
    for argv, expected in (
        (["results", "signup_social_proof"], "signup_conversion"),
        (["alerts"], "checkout_redesign"),
        (["lifecycle"], "checkout_redesign"),
        (["backlog"], ""),
        (["pause", "homepage_cards", "--reason", "bug on Android", "--actor", "@li"], "paused"),
        (["resume", "homepage_cards", "--reason", "fixed in 4.2.1", "--actor", "@li"], "resumed"),
    ):
        code = main(argv)
        out = capsys.readouterr()
        assert code == 0, f"exptrack {' '.join(argv)} exited {code}:\n{out.out}\n{out.err}"
        assert expected in out.out, f"exptrack {' '.join(argv)} printed:\n{out.out}"
    events = pg_run.query(
        "select status, source, actor from state.experiment_status_events where experiment_id = "
        "'homepage_cards' order by event_seq"
    )
    assert events.values.tolist() == [["paused", "person", "@li"], ["running", "person", "@li"]]
    assert not (tmp_path / "must-not-be-created.duckdb").exists()
