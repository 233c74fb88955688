"""exptrack_pipeline.warehouse: the same calls give the same frames and tables on DuckDB and on a real PostgreSQL.

The whole-pipeline comparison is tests/test_postgres_pipeline.py; these pin the interface's contract piece by piece,
each checked on both backends (expected values written by hand, not read back from the code under test).
"""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pandas as pd
import pytest

from exptrack_pipeline.warehouse import DuckDBWarehouse, PostgresWarehouse
from exptrack_pipeline.warehouse.postgres_backend import to_pyformat

FRAME = pd.DataFrame(
    {
        "id": [1, 2, 3],
        "share": [0.1, None, 1 / 3],
        "name": ['a,b "quoted"\nnew line', "", None],
        "day": [dt.date(2026, 1, 1), None, dt.date(2026, 1, 3)],
        "at": pd.to_datetime(["2026-01-01 10:00:00.123456", None, "2026-01-03 23:59:59.000000"]),
        "flag": [True, False, True],
        "nothing": [None, None, None],
        "count": pd.array([7, None, 9], dtype="Int64"),
    }
)


@pytest.fixture(scope="module")
def backends(pg_server, tmp_path_factory):
    pg_server.create_database("backends")
    pg = PostgresWarehouse(
        host=pg_server.host,
        port=pg_server.port,
        user=pg_server.user,
        database="backends",
        sslmode="disable",
        password=pg_server.password,
    )
    duck = DuckDBWarehouse(str(tmp_path_factory.mktemp("backends") / "w.duckdb"))
    return {"duckdb": duck, "postgres": pg}


@pytest.mark.parametrize(
    "sql, expected",
    [
        ("select * from t where a = ? and b = ?", "select * from t where a = %s and b = %s"),
        (
            "select '?' as q, x from t where y like 'a%' and z = ?",
            "select '?' as q, x from t where y like 'a%%' and z = %s",
        ),
        (
            "select \"odd?col\", 'it''s ?' from t where c = ? -- why?\n and d = ?",
            "select \"odd?col\", 'it''s ?' from t where c = %s -- why?\n and d = %s",
        ),
        ("select 5 % 2", "select 5 %% 2"),
    ],
)
def test_placeholders_become_pyformat_outside_quotes_and_comments(sql, expected):
    assert to_pyformat(sql) == expected


@pytest.mark.parametrize("kind", ["duckdb", "postgres"])
def test_replace_table_round_trips_values_and_types(backends, kind):
    warehouse = backends[kind]
    warehouse.replace_table("t", "frame", FRAME)
    warehouse.replace_table("t", "frame", FRAME)  # a second replace: still three rows
    out = warehouse.read_df("select * from t.frame order by id")
    assert list(out["id"]) == [1, 2, 3] and str(out["id"].dtype) == "int64"
    assert (
        out["share"].iloc[0] == 0.1 and pd.isna(out["share"].iloc[1]) and out["share"].iloc[2] == 1 / 3
    )  # bit for bit
    assert out["name"].tolist()[:2] == ['a,b "quoted"\nnew line', ""] and out["name"].iloc[2] is None  # "" is not null
    assert str(out["day"].dtype).startswith("datetime64") and out["day"].iloc[2] == pd.Timestamp("2026-01-03")
    assert pd.isna(out["day"].iloc[1]) and out["at"].iloc[0] == pd.Timestamp("2026-01-01 10:00:00.123456")
    assert out["flag"].tolist() == [True, False, True] and str(out["flag"].dtype) == "bool"
    assert out["nothing"].isna().all()
    assert str(out["count"].dtype) == "Int64" and out["count"].iloc[2] == 9 and pd.isna(out["count"].iloc[1])


@pytest.mark.parametrize("kind", ["duckdb", "postgres"])
def test_parameters_aggregates_and_numeric_results(backends, kind):
    warehouse = backends[kind]
    warehouse.replace_table("t", "frame", FRAME)
    out = warehouse.read_df(
        "select count(*) as n, sum(id) as total, 'lit%' as pct from t.frame where id >= ? and day <= ?",
        [2, dt.date(2026, 1, 3)],
    )
    assert out.to_dict("records") == [{"n": 1, "total": 3.0, "pct": "lit%"}]  # sum(bigint): HUGEINT / numeric → float


@pytest.mark.parametrize("kind", ["duckdb", "postgres"])
def test_replace_table_keeps_dependent_views_and_rolls_back_on_error(backends, kind):
    warehouse = backends[kind]
    warehouse.replace_table("t", "base", pd.DataFrame({"x": [1, 2]}))
    warehouse.execute("create or replace view t.doubled as select x * 2 as y from t.base")
    warehouse.replace_table("t", "base", pd.DataFrame({"x": [5]}))
    assert warehouse.read_df("select y from t.doubled")["y"].tolist() == [10]
    with warehouse.connect() as con:
        con.execute("begin transaction")
        con.execute("insert into t.base values (?)", [6])
        con.execute("rollback")
        assert con.execute("select count(*) from t.base").fetchone()[0] == 1


@pytest.mark.parametrize("kind", ["duckdb", "postgres"])
def test_registered_frame_joins_warehouse_tables(backends, kind):
    warehouse = backends[kind]
    warehouse.replace_table("t", "base", pd.DataFrame({"x": [1, 2, 3]}))
    with warehouse.connect() as con:
        con.register("_wanted", pd.DataFrame({"x": [2, 3, 4]}))
        rows = con.execute("select b.x from t.base b inner join _wanted w on b.x = w.x order by b.x").fetchall()
        con.unregister("_wanted")
    assert [r[0] for r in rows] == [2, 3]


def test_postgres_claims_are_exclusive_under_concurrency(backends):
    """The outbox claim (update ... where status = pending returning) hands a row to exactly one of two workers."""
    from exptrack_pipeline.notify.outbox import claim
    from exptrack_pipeline.warehouse.schema import ensure_tables

    warehouse = backends["postgres"]
    with warehouse.connect() as con:
        ensure_tables(con)
        con.execute("delete from alerts.outbox")
        now = dt.datetime(2026, 11, 1)
        for i in range(20):
            con.execute(
                "insert into alerts.outbox (alert_id, alert_key, experiment_id, trigger, check_name, level, "
                "alert_date, as_of, destination, "
                "recipients, title, summary, action, details_json, status, attempts, created_at, updated_at) "
                "values (?, 'k', 'e', 't', 'c', 1, ?, ?, '#x', '', 't', 's', 'a', '{}', 'pending', 0, ?, ?)",
                [f"a{i}", now.date(), now.date(), now, now],
            )
    won: dict[str, list[str]] = {"one": [], "two": []}

    def worker(name: str) -> None:
        with warehouse.connect() as con:
            for i in range(20):
                if claim(con, f"a{i}"):
                    won[name].append(f"a{i}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in won]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(won["one"] + won["two"]) == sorted(f"a{i}" for i in range(20))
    assert not set(won["one"]) & set(won["two"])


def test_ingestion_into_postgres_replaces_a_day_on_rerun(backends, demo_run):
    """Loading the same two days twice leaves one copy, equal to the DuckDB run's rows for those days."""
    from exptrack_pipeline.ingest.publish import load_days_into_server

    warehouse = backends["postgres"]
    quarantined = demo_run.query(
        "select partition_date, rows_quarantined from raw.ingestion_log "
        "where source = 'events' and rows_quarantined > 0 order by partition_date"
    ).iloc[[0, -1]]
    days = [
        pd.Timestamp(d).date() for d in quarantined["partition_date"]
    ]  # the first and last day with a quarantined event
    with warehouse.connect() as con:
        for _ in range(2):
            reports = list(load_days_into_server(con, demo_run.settings.raw_dir, "events", days))
    assert days[0] < days[1] and all(r.balanced for r in reports)
    assert sum(r.rows_quarantined for r in reports) == quarantined["rows_quarantined"].sum() > 0
    in_list = f"(date '{days[0]}', date '{days[1]}')"
    log = warehouse.read_df(
        "select partition_date, rows_read, rows_loaded, rows_quarantined, rows_deduplicated from "
        "raw.ingestion_log order by 1"
    )
    expected = demo_run.query(
        f"select partition_date, rows_read, rows_loaded, rows_quarantined, rows_deduplicated from raw.ingestion_log "
        f"where source = 'events' and partition_date in {in_list} order by 1"
    )
    pd.testing.assert_frame_equal(log, expected, check_dtype=False)
    count = "select count(*) as n, count(distinct event_id) as ids, sum(value) as total from raw.events"
    pg_counts = warehouse.read_df(count)
    duck_counts = demo_run.query(count + f" where partition_date in {in_list}")
    pd.testing.assert_frame_equal(pg_counts, duck_counts, check_dtype=False)


def test_dbt_profile_defaults_to_the_python_memory_limit():
    """Dbt cannot import Python: its profile's fallback for EXPTRACK_DUCKDB_MEMORY_LIMIT must be the one constant."""
    import re

    from exptrack_pipeline.warehouse import DEFAULT_MEMORY_LIMIT

    profile = (Path(__file__).resolve().parents[1] / "dbt_project" / "profiles.yml").read_text()
    assert re.findall(r"env_var\('EXPTRACK_DUCKDB_MEMORY_LIMIT', '([^']+)'\)", profile) == [DEFAULT_MEMORY_LIMIT]
