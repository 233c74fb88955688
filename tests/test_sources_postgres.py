"""A tool's export loaded into a PostgreSQL warehouse (DuckDB reads, maps and checks; COPY publishes) holds exactly
what the DuckDB warehouse holds for the same files, and a re-load replaces the source's day only."""

from __future__ import annotations

import duckdb
import pandas as pd
from test_sources_contract import DAY, _segment, _sources, _write

from exptrack_pipeline.ingest.loader import load_day
from exptrack_pipeline.ingest.publish import load_days_into_server
from exptrack_pipeline.sources import all_units
from exptrack_pipeline.warehouse import PostgresWarehouse

TABLES = {
    "raw.events": "select source, event_id, user_id, anonymous_id, event_name, occurred_at from raw.events order by "
    "1, 2",
    "raw.exposures": "select source, user_id, anonymous_id, experiment_id, variant, exposed_at from raw.exposures "
    "order by 1, "
    "2, 3",
    "raw.identities": "select source, user_id, anonymous_id, identified_at from raw.identities order by 1, 2",
    "raw.quarantine": "select source, source_file, source_row, reason, record from raw.quarantine order by 1, 2, 3",
    "raw.ingestion_log": "select source, partition_date, rows_read, rows_loaded, rows_quarantined, rows_deduplicated "
    "from raw.ingestion_log order by 1",
}


def test_a_segment_source_in_postgres_equals_duckdb(pg_server, tmp_path):
    raw = tmp_path / "raw"
    _write(
        raw,
        "segment",
        "part.jsonl.gz",
        [
            _segment("m1"),
            "{broken",
            _segment("m1"),
            _segment("m2", userId=None, anonymousId="a7"),
            '{"type": "identify", "messageId": "i1", "userId": "u1", "anonymousId": "a7", "timestamp": '
            '"2026-11-03T09:00:00Z"}',
            '{"type": "track", "event": "Experiment Viewed", "messageId": "x1", "anonymousId": "a7", '
            '"timestamp": "2026-11-03T08:00:00Z", '
            '"properties": {"experiment_id": "exp", "variation_id": "control"}}',
        ],
    )
    _write(raw, "events", "native.csv", ["event_id,user_id,event_name,occurred_at", "n1,u1,x,2026-11-03T10:00:00Z"])
    sources = _sources(
        tmp_path,
        {"name": "native", "preset": "exptrack", "folder": "."},
        {"name": "web", "preset": "segment", "folder": "segment"},
    )
    units = all_units(raw, sources)

    duck = duckdb.connect()
    for unit in units:
        load_day(duck, raw, unit, DAY)
    pg_server.create_database("sources_pg")
    pg = PostgresWarehouse(
        host=pg_server.host,
        port=pg_server.port,
        user=pg_server.user,
        database="sources_pg",
        sslmode="disable",
        password=pg_server.password,
    )
    with pg.connect() as con:
        for _ in range(2):  # a re-load replaces each unit's day
            reports = [r for unit in units for r in load_days_into_server(con, raw, unit, [DAY])]
    assert all(r.balanced for r in reports) and sum(r.rows_read for r in reports) == 7
    for table, sql in TABLES.items():
        expected = duck.execute(sql).df()
        got = pg.read_df(sql)
        assert len(expected) > 0, table
        pd.testing.assert_frame_equal(got, expected, check_dtype=False, obj=table)
