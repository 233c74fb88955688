"""The same warehouse tables read in place by the whole pipeline on DuckDB and on a real PostgreSQL server give the
same raw tables and the same experiment_results (to 1e-9): Segment's warehouse sync (segment_warehouse preset, a
logged-out experiment stitched through `identifies`) and the native contract's tables under a schema (the exptrack
preset with warehouse_schema, which replaces EXPTRACK_RAW_SCHEMA). Within each engine the Segment copy equals the
native copy, so the stitching is exact there too.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import yaml
from dagster import DagsterInstance
from pipeline_support import make_settings
from sources_world import (
    END,
    SEGMENT_VALUES_VIEW,
    START,
    experiment_yaml,
    native_frames,
    segment_warehouse_frames,
    simulate,
)
from test_sources_e2e import _assert_same

REPO = Path(__file__).resolve().parents[1]
SOURCES_YAML = {
    "sources": [
        {"name": "native", "preset": "exptrack", "warehouse_schema": "product_events"},
        {
            "name": "warehouse",
            "preset": "segment_warehouse",
            "warehouse_schema": "segment_prod",
            "tables": {"events": "segment_prod.tracks_with_values"},
            "events": {"value": "value"},
        },
    ]
}
EXPERIMENTS = {
    "signup_native": "user_id",
    "logout_native": "user_id",
    "signup_segwh": "user_id",
    "logout_segwh": "anonymous_id",
}
RAW = {
    "raw.exposures": "select source, source_file, source_row, user_id, anonymous_id, experiment_id, variant, "
    "exposed_at from "
    "raw.exposures",
    "raw.events": "select source, source_file, event_id, user_id, anonymous_id, event_name, occurred_at, value from "
    "raw.events",
    "raw.identities": "select source, user_id, anonymous_id, identified_at from raw.identities",
    "raw.ingestion_log": "select source, partition_date, files_read, rows_read, rows_loaded, rows_quarantined, "
    "rows_deduplicated "
    "from raw.ingestion_log",
}


def _registry(root: Path) -> Path:
    registry = root / "experiments"
    registry.mkdir()
    shutil.copy(REPO / "experiments" / "metrics.yaml", registry / "metrics.yaml")
    for experiment_id, unit in EXPERIMENTS.items():
        (registry / f"{experiment_id}.yaml").write_text(
            yaml.safe_dump(experiment_yaml(experiment_id, unit), sort_keys=False)
        )
    (registry / "sources.yaml").write_text(yaml.safe_dump(SOURCES_YAML, sort_keys=False))
    return registry


def _tables() -> dict[str, pd.DataFrame]:
    tables = {f"product_events.{name}": frame for name, frame in native_frames(simulate("native")).items()}
    tables.update(
        {f"segment_prod.{name}": frame for name, frame in segment_warehouse_frames(simulate("segwh")).items()}
    )
    return tables


def _write(con, tables: dict[str, pd.DataFrame], register) -> None:
    """The same tables in either engine: `register(name, frame)` makes the frame readable as `name`."""
    for schema in ("product_events", "segment_prod"):
        con.execute(f"create schema {schema}")
    for number, (table, frame) in enumerate(tables.items()):
        register(f"frame_{number}", frame)
        con.execute(f"create table {table} as select * from frame_{number}")
    con.execute(SEGMENT_VALUES_VIEW)


def _results(read, experiment_id: str) -> pd.DataFrame:
    frame = read(f"select * from main.experiment_results where experiment_id = '{experiment_id}'")
    return (
        frame.drop(columns=["experiment_id"])
        .sort_values(["metric_id", "variant", "analysis_date"])
        .reset_index(drop=True)
    )


def test_tables_in_place_give_the_same_results_on_duckdb_and_postgres(pg_server, tmp_path, monkeypatch):
    from exptrack_pipeline.cli import run_pipeline
    from exptrack_pipeline.config.settings import PostgresSettings
    from exptrack_pipeline.warehouse import PostgresWarehouse

    registry, tables = _registry(tmp_path), _tables()
    duck_settings = make_settings(tmp_path / "duck", experiments_dir=registry)
    duck_settings.warehouse.parent.mkdir(parents=True)
    with duckdb.connect(str(duck_settings.warehouse)) as con:
        _write(con, tables, con.register)

    pg_server.create_database("in_place_run")
    pg = PostgresSettings(
        host=pg_server.host, port=pg_server.port, user=pg_server.user, database="in_place_run", sslmode="disable"
    )
    warehouse = PostgresWarehouse(
        host=pg.host, port=pg.port, user=pg.user, database=pg.database, sslmode="disable", password=pg_server.password
    )
    with warehouse.connect() as con:
        _write(con, tables, con.register)
    for name, value in {
        **pg_server.env("in_place_run"),
        "EXPTRACK_PG_SSLMODE": "disable",
        "EXPTRACK_PG_SCHEMA": "main",
    }.items():
        monkeypatch.setenv(name, value)  # restored after the test: run_pipeline exports the EXPTRACK_PG_* settings
    pg_settings = make_settings(tmp_path / "pg", experiments_dir=registry).model_copy(
        update={"target": "postgres", "postgres": pg}
    )

    for settings in (duck_settings, pg_settings):
        with DagsterInstance.ephemeral() as instance:
            run_pipeline(START, END + dt.timedelta(days=1), settings, instance=instance)

    def duck_read(sql: str) -> pd.DataFrame:
        with duckdb.connect(str(duck_settings.warehouse), read_only=True) as con:
            return con.execute(sql).df()

    for table, sql in RAW.items():
        expected, got = duck_read(sql), warehouse.read_df(sql)
        keys = list(expected.columns[:4])
        assert len(expected) > 0, table
        pd.testing.assert_frame_equal(
            got.sort_values(keys).reset_index(drop=True),
            expected.sort_values(keys).reset_index(drop=True),
            check_dtype=False,
            obj=table,
        )
    log = warehouse.read_df(
        "select source, sum(rows_read) as r, sum(rows_loaded) as l from raw.ingestion_log group by 1"
    )
    assert set(log["source"]) == {
        "native:exposures",
        "native:events",
        "warehouse:exposures",
        "warehouse:events",
        "warehouse:identities",
    }
    assert (log["r"] > 0).all() and (log["r"] == log["l"]).all()  # clean tables: every row loaded
    for experiment_id in EXPERIMENTS:
        _assert_same(_results(warehouse.read_df, experiment_id), _results(duck_read, experiment_id))
    for experiment in ("signup", "logout"):
        _assert_same(
            _results(warehouse.read_df, f"{experiment}_segwh"), _results(warehouse.read_df, f"{experiment}_native")
        )
