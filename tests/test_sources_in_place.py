"""Warehouse tables read in place: the same tables in a DuckDB and in a real PostgreSQL warehouse, read through the
same sources YAML (the segment_warehouse preset and a custom `format: table` mapping), give identical raw tables —
rows, quarantine reasons and records, exposure attributes, counts — and a re-load replaces the day."""

from __future__ import annotations

import dataclasses
import re

import duckdb
import pandas as pd
import pytest
from test_sources_contract import DAY, _sources

from exptrack_pipeline.ingest.loader import load_day
from exptrack_pipeline.sources import SourcesError, all_units
from exptrack_pipeline.sources.in_place import load_table_days
from exptrack_pipeline.warehouse import PostgresWarehouse

TABLES = [
    "create schema seg",
    "create table seg.tracks (id varchar, anonymous_id varchar, user_id varchar, event varchar, timestamp timestamp)",
    "insert into seg.tracks values "
    "('t1', null, 'u1', 'session_start', timestamp '2026-11-03 10:00:00'), "
    "('t1', null, 'u1', 'session_start', timestamp '2026-11-03 10:00:00'), "  # a duplicate id
    "('t2', 'a1', null, 'signup_completed', timestamp '2026-11-03 10:30:00.123456'), "
    "('t3', null, 'NaN', 'session_start', timestamp '2026-11-03 11:00:00'), "  # no id (a null token)
    "('t4', null, 'u2', 'session_start', timestamp '2026-11-04 00:00:00')",  # the next day
    "create table seg.experiment_viewed (id varchar, anonymous_id varchar, user_id varchar, experiment_id varchar, "
    "variation_id varchar, timestamp timestamp)",
    "insert into seg.experiment_viewed values "
    "('x1', 'a1', null, 'exp', 'control', timestamp '2026-11-03 09:00:00'), "
    "('x2', null, 'u1', 'exp', ' ', timestamp '2026-11-03 09:05:00')",  # a blank variant
    "create table seg.identifies (id varchar, anonymous_id varchar, user_id varchar, timestamp timestamp)",
    "insert into seg.identifies values ('i1', 'a1', 'u1', timestamp '2026-11-03 10:31:00')",
    "create schema app",
    "create table app.orders (order_id varchar, who varchar, at_ms varchar, amount varchar, day timestamp)",
    "insert into app.orders values "
    "('o1', 'u1', '1793696400000', '12.5', timestamp '2026-11-03 12:00:00'), "
    "('o2', 'u1', '1793696400', '3', timestamp '2026-11-03 12:00:00'), "  # epoch in seconds, not ms
    "('o3', 'u2', 'soon', '3', timestamp '2026-11-03 12:00:00'), "
    "('o4', 'u2', '1793696400000', 'abc', timestamp '2026-11-03 12:00:00'), "
    "('o5', 'u2', '1793696400000', 'inf', timestamp '2026-11-03 12:00:00')",
    "create table app.assignments (who varchar, exp varchar, arm varchar, seen varchar, platform varchar, day date)",
    "insert into app.assignments values "
    "('u1', 'exp2', 'treatment', '2026-11-03T08:00:00+01:00', 'ios', date '2026-11-03'), "
    "('u2', 'exp2', 'control', 'yesterday', 'web', date '2026-11-03'), "
    "('u3', 'exp2', 'control', '2026-11-03 08:00', null, date '2026-11-03')",
]
SOURCES = (
    {"name": "wh", "preset": "segment_warehouse", "warehouse_schema": "seg"},
    {
        "name": "shop",
        "preset": "custom",
        "format": "table",
        "day_column": "day",
        "tables": {"events": "app.orders", "exposures": "app.assignments"},
        "events": {
            "event_id": "order_id",
            "user_id": "who",
            "event_name": {"value": "order"},
            "occurred_at": {"field": "at_ms", "epoch": "ms"},
            "value": "amount",
        },
        "exposures": {"user_id": "who", "experiment_id": "exp", "variant": "arm", "exposed_at": "seen"},
        "attributes": {"platform": "platform"},
    },
)
COMPARED = {
    "raw.exposures": "select source, source_file, source_row, user_id, anonymous_id, device_id, experiment_id, "
    "variant, "
    "exposed_at "
    "from raw.exposures order by 1, 2, 3",
    "raw.exposure_attributes": "select source, user_id, experiment_id, exposed_at, attribute, value from "
    "raw.exposure_attributes "
    "order by 1, 2, 3, 5",
    "raw.events": "select source, source_file, source_row, event_id, user_id, anonymous_id, event_name, occurred_at, "
    "value "
    "from raw.events order by 1, 4",
    "raw.identities": "select source, user_id, anonymous_id, identified_at from raw.identities order by 1, 2",
    "raw.quarantine": "select source, source_file, source_row, reason, record from raw.quarantine order by 1, 3",
    "raw.ingestion_log": "select source, partition_date, files_read, rows_read, rows_loaded, rows_quarantined, "
    "rows_deduplicated "
    "from raw.ingestion_log order by 1",
}


def _same_records(frame: pd.DataFrame) -> pd.DataFrame:
    """A row as JSON writes its timestamp `2026-11-03 10:00:00` on DuckDB, `2026-11-03T10:00:00` on PostgreSQL."""
    frame = frame.copy()
    frame["record"] = [r if r is None else re.sub(r'"(\d{4}-\d\d-\d\d)T', r'"\1 ', r) for r in frame["record"]]
    return frame


@pytest.fixture
def pg(pg_server):
    pg_server.create_database("in_place")
    return PostgresWarehouse(
        host=pg_server.host,
        port=pg_server.port,
        user=pg_server.user,
        database="in_place",
        sslmode="disable",
        password=pg_server.password,
    )


def test_tables_read_in_place_on_postgres_equal_duckdb(pg, tmp_path):
    units = all_units(tmp_path / "raw", _sources(tmp_path, *SOURCES))
    assert sorted(u.name for u in units) == [
        "shop:events",
        "shop:exposures",
        "wh:events",
        "wh:exposures",
        "wh:identities",
    ]
    duck = duckdb.connect()
    for statement in TABLES:
        duck.execute(statement)
    duck_reports = {u.name: load_day(duck, tmp_path / "raw", u, DAY) for u in units}
    with pg.connect() as con:
        for statement in TABLES:
            con.execute(statement)
        for _ in range(2):  # a re-load replaces each unit's day
            pg_reports = {u.name: r for u in units for r in load_table_days(con, u, [DAY])}

    counts = {
        name: (r.rows_read, r.rows_loaded, r.rows_quarantined, r.rows_deduplicated) for name, r in pg_reports.items()
    }
    assert counts == {
        "wh:events": (4, 2, 1, 1),
        "wh:exposures": (2, 1, 1, 0),
        "wh:identities": (1, 1, 0, 0),
        "shop:events": (5, 1, 4, 0),
        "shop:exposures": (3, 2, 1, 0),
    }
    assert counts == {
        name: (r.rows_read, r.rows_loaded, r.rows_quarantined, r.rows_deduplicated) for name, r in duck_reports.items()
    }
    assert pg_reports["shop:events"].quarantine_reasons == {
        "non-finite value": 1,
        "non-numeric value": 1,
        "unparseable occurred_at": 2,
    }
    for table, sql in COMPARED.items():
        expected, got = duck.execute(sql).df(), pg.read_df(sql)
        assert len(expected) > 0, table
        if table == "raw.quarantine":
            expected, got = _same_records(expected), _same_records(got)
        pd.testing.assert_frame_equal(got, expected, check_dtype=False, obj=table)
    reasons = pg.read_df("select reason from raw.quarantine where source = 'shop:events' order by source_row")[
        "reason"
    ].tolist()
    assert (
        reasons[0] == "unparseable occurred_at: epoch 1793696400 in ms is out of range (2000..2100): wrong epoch unit?"
    )


def test_a_table_with_rows_outside_any_day_is_refused_on_postgres(pg, tmp_path):
    (unit,) = [u for u in all_units(tmp_path / "raw", _sources(tmp_path, SOURCES[0])) if u.name == "wh:events"]
    with pg.connect() as con:
        for statement in TABLES[:3]:
            con.execute(statement)
        (loaded,) = load_table_days(con, unit, [DAY])
        con.execute("insert into seg.tracks values ('t9', null, 'u9', 'session_start', null)")
        (refused,) = load_table_days(con, unit, [DAY])
        (missing,) = load_table_days(con, dataclasses.replace(unit, table="seg.nope"), [DAY])
    assert loaded.rows_loaded == 2 and refused.rows_read == refused.rows_loaded == 0 and refused.balanced
    assert "1 row(s) of seg.tracks have no timestamp" in refused.file_problems["warehouse:seg.tracks"]
    log = pg.read_df("select rows_read, rows_loaded from raw.ingestion_log where source = 'wh:events'")
    assert log.values.tolist() == [[0, 0]]
    assert missing.file_problems["warehouse:seg.nope"].startswith(
        'unreadable table: relation "seg.nope" does not exist'
    )


def test_a_strptime_format_is_refused_on_postgres_with_the_fix(tmp_path):
    custom = {**SOURCES[1], "events": {**SOURCES[1]["events"], "occurred_at": {"field": "at_ms", "format": "%d/%m/%Y"}}}
    (unit,) = [u for u in all_units(tmp_path / "raw", _sources(tmp_path, custom)) if u.name == "shop:events"]
    with pytest.raises(
        SourcesError,
        match=r"source shop:events \(table app.orders\): .*format: %d/%m/%Y.*select the column as a timestamp",
    ):
        next(load_table_days(None, unit, [DAY]))
