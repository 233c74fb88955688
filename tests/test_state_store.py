"""The state store beside Spark: which statements go there, how it is configured (no JVM; the whole flow on Spark is
tests/test_spark_pipeline.py)."""

from __future__ import annotations

import duckdb
import pytest

from exptrack_pipeline.warehouse import DuckDBWarehouse, PostgresWarehouse
from exptrack_pipeline.warehouse.state_store import routes_to_state, state_store, written_mirrored_tables


@pytest.mark.parametrize(
    "sql, to_state",
    [
        ("update alerts.outbox set status = 'sending' where alert_id = ? returning alert_id", True),
        ("insert into state.experiment_status_events (experiment_id) values (?) returning event_seq", True),
        ("delete from monitoring.health_findings h where exists (select 1 from _findings f)", True),
        ("create schema if not exists alerts", True),
        ("create sequence if not exists state.status_event_seq", True),
        ("create database if not exists raw", False),
        ("select experiment_id, status from registry.experiments", False),
        ("select max(exposure_date) from main.fct_daily_exposures where experiment_id = ?", False),
        ("select 'state.experiment_status' as name from main.fct_daily_exposures -- alerts.outbox", False),
    ],
)
def test_statements_go_where_their_tables_live(sql, to_state):
    assert routes_to_state(sql) is to_state


def test_a_statement_over_both_databases_is_refused_with_the_fix():
    with pytest.raises(ValueError, match="split it in two") as caught:
        routes_to_state("select * from state.experiment_status s join registry.experiments e using (experiment_id)")
    assert "registry" in str(caught.value) and "state" in str(caught.value)


def test_only_writes_of_the_tables_dbt_reads_are_mirrored():
    assert written_mirrored_tables("delete from state.experiment_status") == {"state.experiment_status"}
    assert written_mirrored_tables(
        "insert into state.experiment_status_events (experiment_id) values (?) returning event_seq"
    ) == {"state.experiment_status_events"}
    assert written_mirrored_tables("select * from state.experiment_status") == set()
    assert written_mirrored_tables("update alerts.outbox set status = 'sent'") == set()


def test_state_url_names_postgres_or_a_duckdb_file(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPTRACK_STATE_PASSWORD", "from-env")
    pg = state_store("postgresql://ops@db.internal:5433/exptrack_state?sslmode=require", tmp_path / "w.duckdb")
    assert isinstance(pg, PostgresWarehouse)
    assert (pg.host, pg.port, pg.user, pg.database, pg.sslmode, pg.password) == (
        "db.internal",
        5433,
        "ops",
        "exptrack_state",
        "require",
        "from-env",
    )
    for url in (f"duckdb://{tmp_path}/ops.duckdb", str(tmp_path / "ops.duckdb")):
        store = state_store(url, tmp_path / "w.duckdb")
        assert isinstance(store, DuckDBWarehouse) and store.path == str(tmp_path / "ops.duckdb"), url
    default = state_store(None, tmp_path / "w.duckdb")
    assert isinstance(default, DuckDBWarehouse) and default.path == str(tmp_path / "w.duckdb")
    with pytest.raises(ValueError, match="EXPTRACK_STATE_URL"):
        state_store("mysql://db/exptrack", tmp_path / "w.duckdb")


def test_a_duckdb_state_file_named_like_a_state_schema_is_refused(tmp_path):
    """DuckDB names the database after the file: `state.duckdb` makes `state.experiment_status` ambiguous."""
    with duckdb.connect(str(tmp_path / "state.duckdb")) as con:
        con.execute("create schema if not exists state")
        with pytest.raises(duckdb.BinderException, match="Ambiguous"):
            con.execute("create table if not exists state.experiment_status (experiment_id varchar)")
    with pytest.raises(ValueError, match=r"exptrack-state\.duckdb"):
        state_store(str(tmp_path / "state.duckdb"), tmp_path / "w.duckdb")


def test_every_state_table_dbt_reads_is_mirrored_into_spark(dbt_manifest):
    """On Spark, dbt reads only Spark: each `state` source of the dbt project must be a mirrored table."""
    import json

    from exptrack_pipeline.warehouse.state_store import MIRRORED

    sources = json.loads(dbt_manifest.read_text())["sources"].values()
    read_by_dbt = {f"{s['schema']}.{s['name']}" for s in sources if s["schema"] in ("state", "alerts", "monitoring")}
    assert read_by_dbt and read_by_dbt == set(MIRRORED)
