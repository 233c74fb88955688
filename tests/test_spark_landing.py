"""Spark reads the landing zone itself and applies the same contract as the DuckDB loader.

Each test writes small hand-made files into day folders, loads them with the DuckDB loader (`load_day`, the
reference, tested on its own in tests/test_ingest_contract.py) and with Spark from the folder's `file://` URI
(ingest/spark_landing.py), and compares what each warehouse holds: the quarantine (file, row, reason, record), the
ingestion log (files, rows read / loaded / quarantined / de-duplicated), the loaded rows. Some expectations are also
written out from the files, so that a fault shared by both would show.

The Spark server is the session's one (tests/spark_support.py), shared with the Spark pipeline run and the
incremental sequence. Each test writes to its own Spark database, never to the pipeline run's `raw`.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import spark_support

from exptrack_pipeline.ingest import load_day
from exptrack_pipeline.ingest.loader import day_folder

DAY = dt.date(2026, 10, 5)
NEXT = DAY + dt.timedelta(days=1)
EVENT_HEADER = "event_id,user_id,event_name,occurred_at,value,session_id\n"
T = "2026-10-05T10:00:00Z"


@pytest.fixture(scope="module")
def spark():
    """A SparkConnection to the session's Spark server (spark_support.server: started at collection or now)."""
    reason = spark_support.skip_reason()
    if reason:
        pytest.skip(reason)
    from exptrack_pipeline.warehouse import SparkWarehouse

    warehouse = SparkWarehouse(remote=spark_support.server().remote)
    try:
        with warehouse.connect() as con:
            yield con
    finally:
        warehouse.session().stop()


@pytest.fixture()
def schema(spark, request):
    """A Spark database of this test's own (dropped after)."""
    name = "landing_" + request.node.name.removeprefix("test_")[:40]
    spark.execute(f"drop database if exists {name} cascade")
    yield name
    spark.execute(f"drop database if exists {name} cascade")


def write(raw: Path, source: str, name: str, text: str, day: dt.date = DAY) -> None:
    folder = day_folder(raw, source, day)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)


def write_parquet(raw: Path, source: str, name: str, table: pa.Table, day: dt.date = DAY) -> None:
    folder = day_folder(raw, source, day)
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, folder / name)


class Loads:
    """The same landing folder loaded by DuckDB (a fresh file per test) and by Spark (into `schema`)."""

    def __init__(self, tmp_path: Path, spark, schema: str) -> None:
        self.raw, self.spark, self.schema = tmp_path / "raw", spark, schema
        self.duck = duckdb.connect(str(tmp_path / "warehouse.duckdb"))

    def load(self, source: str, days: list[dt.date]) -> tuple[list, list]:
        from exptrack_pipeline.ingest.spark_landing import load_days_from_landing

        duck = [load_day(self.duck, self.raw, source, day) for day in days]
        spark = list(load_days_from_landing(self.spark, self.raw.as_uri(), source, days, schema=self.schema))
        return duck, spark

    def both(self, sql: str) -> tuple[list, list]:
        """The query's rows on DuckDB (schema raw) and on Spark (the test's schema), sorted, floats rounded."""

        def tidy(rows):
            return sorted(
                (tuple(round(v, 9) if isinstance(v, float) and math.isfinite(v) else v for v in r) for r in rows),
                key=repr,
            )

        duck = tidy(self.duck.execute(sql).fetchall())
        spark = tidy(self.spark.execute(sql.replace("raw.", f"{self.schema}.")).fetchall())
        return duck, spark

    def assert_same(self, source: str) -> list[tuple]:
        """Quarantine, ingestion log and loaded rows equal on both; returns the quarantine rows."""
        # a file neither engine can read: the same entry, the engine's own words after "unreadable file: "
        reason = "case when reason like 'unreadable file: %' and record is null then 'unreadable file' else reason end"
        quarantine, spark_quarantine = self.both(
            f"select partition_date, source_file, source_row, {reason}, record from raw.quarantine "
            f"where source = '{source}'"
        )
        assert spark_quarantine == quarantine
        log = (
            "select partition_date, files_read, rows_read, rows_loaded, rows_quarantined, rows_deduplicated "
            f"from raw.ingestion_log where source = '{source}'"
        )
        assert self.both(log)[1] == self.both(log)[0]
        columns = {
            "events": "event_id, user_id, anonymous_id, device_id, event_name, occurred_at, value, session_id",
            "exposures": "user_id, anonymous_id, device_id, experiment_id, variant, exposed_at",
        }[source]
        rows = self.both(f"select partition_date, source_file, source_row, {columns} from raw.{source}")
        assert rows[1] == rows[0]
        return quarantine


@pytest.fixture()
def loads(tmp_path, spark, schema):
    loads = Loads(tmp_path, spark, schema)
    yield loads
    loads.duck.close()


def test_events_contract_cases_give_the_same_reasons_and_counts(loads):
    raw = loads.raw
    write(
        raw,
        "events",
        "a.csv",
        EVENT_HEADER
        + f"e1,u1,click,{T},1.5,s1\n"
        + "e2,u1,click,not-a-time,,s1\n"  # bad timestamp
        + "e3,u1,click,2026-13-45T10:00:00Z,,s1\n"
        + "e4,u1,click,,,s1\n"  # missing timestamp
        + f"e5,u1,purchase,{T},12.5x,s1\n"  # bad type
        + f"e6,u1,purchase,{T},inf,s1\n"
        + f"e7,null,click,{T},,s1\n"  # a null token: no unit
        + f",u1,click,{T},,s1\n"  # missing event_id
        + f"e8,u1,click,{T},,,too,many\n"  # malformed line
        + f"e1,u9,click,{T},3,s1\n"  # duplicate of e1 (the first copy wins)
        + "e9,u1,click,2026-10-05T11:00:00+01:00, 7.25 ,s1\n",
    )
    write(
        raw,
        "events",
        "b.jsonl",
        json.dumps({"event_id": "j1", "user_id": 42, "event_name": "click", "occurred_at": "2026-10-05T05:00:00-05:00"})
        + "\n{this is not json\n\n"
        + json.dumps({"event_id": "e9", "user_id": "u2", "event_name": "x", "occurred_at": T, "value": 2})
        + "\n",
    )
    write(raw, "events", "c.csv", "event_id,user_id,occurred_at\nm1,u1,2026-10-05T10:00:00Z\n")  # lacks a column
    write(raw, "events", "d.csv", "")  # an empty file
    write(raw, "events", "e.txt", "hello\n")  # unsupported
    (day_folder(raw, "events", DAY) / "f.parquet").write_bytes(b"PAR1 this is not parquet")
    instant = dt.datetime(2026, 10, 5, 10, 0)
    write_parquet(
        raw,
        "events",
        "g.parquet",
        pa.table(
            {
                "event_id": ["p1", "p2", "e1"],
                "user_id": ["u1", None, "u3"],
                "event_name": ["click", "click", "click"],
                "occurred_at": pa.array(
                    [dt.datetime(2026, 10, 5, 10, 0, tzinfo=dt.UTC)] * 3, pa.timestamp("us", "UTC")
                ),
                "value": [1.0, 2.0, 3.0],
            }
        ),
    )
    write_parquet(
        raw,
        "events",
        "h.parquet",
        pa.table({"event_id": ["n1"], "user_id": ["u1"], "event_name": ["x"], "occurred_at": pa.array([instant])}),
    )
    duck, spark = loads.load("events", [DAY, NEXT])
    quarantine = loads.assert_same("events")
    by_row = {(Path(r[1]).name, r[2]): r[3] for r in quarantine}
    # written out from the files above, not from either loader
    assert by_row[("a.csv", 2)] == "unparseable occurred_at: not-a-time"
    assert by_row[("a.csv", 4)] == "missing occurred_at"
    assert by_row[("a.csv", 5)] == "non-numeric value: 12.5x"
    assert by_row[("a.csv", 6)] == "non-finite value: inf"
    assert (by_row[("a.csv", 7)], by_row[("a.csv", 8)]) == ("missing user_id", "missing event_id")
    assert by_row[("a.csv", 10)].startswith("malformed CSV line: too many columns")
    assert by_row[("b.jsonl", 2)] == "empty or malformed record"
    assert by_row[("c.csv", 1)] == "file lacks required column(s): event_name"
    assert by_row[("d.csv", None)] == "unreadable file"  # (empty file)
    assert by_row[("e.txt", None)].startswith("unsupported file type .txt")
    assert by_row[("f.parquet", None)] == "unreadable file"
    assert by_row[("g.parquet", 2)] == "missing user_id"
    for duck_report, spark_report in zip(duck, spark, strict=True):
        assert spark_report.balanced and duck_report.balanced
        assert spark_report.quarantine_reasons == duck_report.quarantine_reasons
        assert set(spark_report.file_problems) == set(duck_report.file_problems)
    assert spark[0].file_problems["events/date=2026-10-05/d.csv"] == "unreadable file: empty file (no header row)"
    # e1 (a.csv row 9, g.parquet row 3) and e9 (b.jsonl row 3) repeat earlier valid rows; the next day is empty
    assert (spark[0].rows_deduplicated, spark[1].rows_read, spark[1].files) == (3, 0, [])


def test_exposures_and_their_attributes_are_the_same(loads):
    write(
        loads.raw,
        "exposures",
        "a.csv",
        "user_id,experiment_id,variant,exposed_at,platform,Country\n"
        + f",exp,control,{T},ios,de\n"
        + f" u3 ,exp , control,{T},,fr\n"
        + f"u4,exp,NaN,{T},web,\n",
    )
    write(
        loads.raw,
        "exposures",
        "b.jsonl",
        json.dumps({"anonymous_id": "a1", "experiment_id": "exp", "variant": "treatment", "exposed_at": T})
        + "\n"
        + json.dumps({"user_id": "u5", "experiment_id": "exp", "variant": "treatment", "exposed_at": T, "plan": "pro"})
        + "\n",
    )
    duck, spark = loads.load("exposures", [DAY])
    quarantine = loads.assert_same("exposures")
    assert [r[3] for r in quarantine] == ["missing user_id", "missing variant"]
    attributes = loads.both("select user_id, experiment_id, exposed_at, attribute, value from raw.exposure_attributes")
    assert attributes[1] == attributes[0]
    assert {(r[0], r[3], r[4]) for r in attributes[1]} == {("u3", "country", "fr"), ("u5", "plan", "pro")}
    assert spark[0].rows_loaded == duck[0].rows_loaded == 3


def test_a_resent_day_replaces_its_partitions_idempotently(loads):
    raw = loads.raw
    write(raw, "events", "a.csv", EVENT_HEADER + f"e1,u1,click,{T},,\nbad,u1,click,never,,\ne1,u1,click,{T},,\n")
    write(raw, "events", "a.csv", EVENT_HEADER + "x1,u1,click,2026-10-06T10:00:00Z,,\n", day=NEXT)
    loads.load("events", [DAY, NEXT])
    first = loads.both("select * from raw.events")[1], loads.both("select * from raw.quarantine")[1]
    loads.load("events", [DAY])  # the same files again: nothing doubled, nothing lost
    assert (loads.both("select * from raw.events")[1], loads.both("select * from raw.quarantine")[1]) == first
    # the day re-sent: the bad row fixed, a late file added
    write(raw, "events", "a.csv", EVENT_HEADER + f"e1,u1,click,{T},,\n")
    write(
        raw,
        "events",
        "late.jsonl",
        json.dumps({"event_id": "e2", "user_id": "u2", "event_name": "c", "occurred_at": T}),
    )
    duck, spark = loads.load("events", [DAY])
    assert loads.assert_same("events") == []  # the day's quarantine partition is gone, not kept
    assert (spark[0].rows_loaded, spark[0].rows_quarantined, spark[0].files) == (2, 0, duck[0].files)
    events = loads.both("select event_id from raw.events")
    assert events[1] == events[0] == [("e1",), ("e2",), ("x1",)]  # the next day untouched


def test_client_rows_are_written_without_the_local_relation_rule_and_the_setting_is_restored(spark, schema):
    """write_table sends a pandas frame's rows with ConvertToLocalRelation excluded (spark_types.rows_from_the_client:
    the projection over the client's rows compiled into the write task, not interpreted in the driver). The rows are
    the frame's, and the session's own exclusions are what they were before, with or without a list of its own."""
    from exptrack_pipeline.warehouse.spark_types import EXCLUDED_RULES, LOCAL_RELATION_RULE, rows_from_the_client

    spark.execute(f"create database {schema}")
    session = spark.session
    own = "org.apache.spark.sql.catalyst.optimizer.PushDownPredicates"
    frame = pd.DataFrame({"k": ["a", "b", None], "x": [1.5, None, 3.0], "n": [1, 2, 3]})
    for before in (None, own):
        if before is None:
            session.conf.unset(EXCLUDED_RULES)
        else:
            session.conf.set(EXCLUDED_RULES, before)
        with rows_from_the_client(session):
            inside = session.conf.get(EXCLUDED_RULES, None).split(",")
        assert inside == [*([own] if before else []), LOCAL_RELATION_RULE]
        spark.write_table(f"{schema}.client_rows", frame)
        assert session.conf.get(EXCLUDED_RULES, None) == before
        back = spark.session.table(f"{schema}.client_rows").toPandas().sort_values("n", ignore_index=True)
        assert back["k"].tolist() == ["a", "b", None] and back["n"].tolist() == [1, 2, 3]
        assert back["x"].tolist()[0] == 1.5 and pd.isna(back["x"][1]) and back["x"][2] == 3.0
    session.conf.unset(EXCLUDED_RULES)
