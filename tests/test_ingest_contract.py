"""The landing-zone contract at the loader: every kind of bad input gets a clear reason, every row is accounted for.

Each test writes a few hand-made files into a day folder and loads them with `load_day` on a fresh DuckDB file;
expected values come from the files the test wrote, not from the loader.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from exptrack_pipeline.ingest import load_day
from exptrack_pipeline.ingest.loader import day_folder

DAY = dt.date(2026, 10, 5)
EVENT_HEADER = "event_id,user_id,event_name,occurred_at,value,session_id\n"


@pytest.fixture()
def raw(tmp_path: Path) -> Path:
    return tmp_path / "raw"


@pytest.fixture()
def con(tmp_path: Path):
    connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    yield connection
    connection.close()


def write(raw: Path, source: str, name: str, text: str, day: dt.date = DAY) -> Path:
    folder = day_folder(raw, source, day)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def write_parquet(raw: Path, source: str, name: str, table: pa.Table, day: dt.date = DAY) -> Path:
    folder = day_folder(raw, source, day)
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, folder / name)
    return folder / name


def quarantine(con, source: str = "events") -> list[tuple]:
    return con.execute(
        "select source_file, source_row, reason, record from raw.quarantine where source = ? order by "
        "source_file, source_row",
        [source],
    ).fetchall()


def log_row(con, source: str = "events", day: dt.date = DAY) -> dict:
    row = con.execute(
        "select files_read, rows_read, rows_loaded, rows_quarantined, rows_deduplicated from raw.ingestion_log "
        "where source = ? and partition_date = ?",
        [source, day],
    ).fetchone()
    return dict(zip(("files", "read", "loaded", "quarantined", "deduplicated"), row, strict=True))


def assert_conserved(report, con, source: str = "events") -> None:
    log = log_row(con, source, report.partition_date)
    assert report.balanced
    assert log["read"] == log["loaded"] + log["quarantined"] + log["deduplicated"]
    assert (
        log["loaded"]
        == con.execute(
            f"select count(*) from raw.{source} where partition_date = ?", [report.partition_date]
        ).fetchone()[0]
    )


def test_unreadable_and_unsupported_files_are_recorded_and_the_rest_of_the_day_loads(raw, con):
    write(raw, "events", "a.csv", EVENT_HEADER + "e1,u1,click,2026-10-05T10:00:00Z,,s1\n")
    (day_folder(raw, "events", DAY) / "broken.parquet").write_bytes(b"PAR1 this is not parquet")
    write(raw, "events", "b.txt", "hello\n")
    write(raw, "events", "_SUCCESS", "")  # marker files are ignored
    report = load_day(con, raw, "events", DAY)
    rows = {r[0]: r for r in quarantine(con)}
    assert rows["events/date=2026-10-05/broken.parquet"][2].startswith("unreadable file:")
    assert rows["events/date=2026-10-05/b.txt"][2].startswith("unsupported file type .txt")
    assert all(r[1] is None and r[3] is None for r in rows.values())  # file-level entries: no row, no record
    assert con.execute("select event_id from raw.events").fetchall() == [("e1",)]
    assert log_row(con) == {"files": 3, "read": 1, "loaded": 1, "quarantined": 0, "deduplicated": 0}
    assert set(report.file_problems) == {"events/date=2026-10-05/broken.parquet", "events/date=2026-10-05/b.txt"}
    assert_conserved(report, con)


def test_file_missing_a_required_column_is_quarantined_row_by_row(raw, con):
    write(
        raw,
        "events",
        "no_name.csv",
        "event_id,user_id,occurred_at\ne1,u1,2026-10-05T10:00:00Z\ne2,u2,2026-10-05T11:00:00Z\n",
    )
    write(
        raw,
        "events",
        "wrong.jsonl",
        '{"id": "e3", "user": "u3", "event_name": "x", "occurred_at": "2026-10-05T10:00:00Z"}\n',
    )
    # different case and stray spaces in a header are the same column
    write(raw, "events", "ok.csv", " Event_ID ,USER_ID,event_name,Occurred_At\ne4,u4,click,2026-10-05T12:00:00Z\n")
    report = load_day(con, raw, "events", DAY)
    reasons = [(r[0].rsplit("/", 1)[1], r[1], r[2]) for r in quarantine(con)]
    assert reasons == [
        ("no_name.csv", 1, "file lacks required column(s): event_name"),
        ("no_name.csv", 2, "file lacks required column(s): event_name"),
        ("wrong.jsonl", 1, "file lacks required column(s): event_id, user_id"),
    ]
    assert json.loads(quarantine(con)[0][3]) == {
        "event_id": "e1",
        "user_id": "u1",
        "occurred_at": "2026-10-05T10:00:00Z",
    }
    assert con.execute("select event_id, user_id, event_name from raw.events").fetchall() == [("e4", "u4", "click")]
    assert log_row(con) == {"files": 3, "read": 4, "loaded": 1, "quarantined": 3, "deduplicated": 0}
    assert_conserved(report, con)


def test_unparseable_timestamps_and_bad_values_are_quarantined_with_the_text(raw, con):
    write(
        raw,
        "events",
        "a.csv",
        EVENT_HEADER
        + "e1,u1,click,not-a-time,,s\n"
        + "e2,u1,click,2026-13-45T10:00:00Z,,s\n"
        + "e3,u1,click,,,s\n"
        + "e4,u1,purchase,2026-10-05T10:00:00Z,12.5x,s\n"
        + "e5,u1,purchase,2026-10-05T10:00:00Z,inf,s\n"
        + "e6,u1,purchase,2026-10-05T10:00:00Z, 7.25 ,s\n",
    )
    report = load_day(con, raw, "events", DAY)
    assert [r[2] for r in quarantine(con)] == [
        "unparseable occurred_at: not-a-time",
        "unparseable occurred_at: 2026-13-45T10:00:00Z",
        "missing occurred_at",
        "non-numeric value: 12.5x",
        "non-finite value: inf",
    ]
    assert con.execute("select event_id, value from raw.events").fetchall() == [("e6", 7.25)]
    assert_conserved(report, con)


def test_mixed_time_zones_in_every_format_load_as_the_same_utc_instant(raw, con):
    # 10:00 UTC written eight ways
    texts = [
        "2026-10-05T10:00:00Z",
        "2026-10-05T11:00:00+01:00",
        "2026-10-05T05:00:00-05:00",
        "2026-10-05 10:00:00",
        "2026-10-05T10:00:00",
        "2026-10-05T15:30:00+0530",
        "2026-10-05T06:00:00 America/New_York",
        "2026-10-05T10:00:00.000Z",
    ]
    write(raw, "events", "a.csv", EVENT_HEADER + "".join(f"c{i},u1,click,{t},,\n" for i, t in enumerate(texts)))
    write(
        raw,
        "events",
        "b.jsonl",
        "".join(
            json.dumps({"event_id": f"j{i}", "user_id": "u1", "event_name": "click", "occurred_at": t}) + "\n"
            for i, t in enumerate(texts)
        ),
    )
    instant = dt.datetime(2026, 10, 5, 10, 0)
    write_parquet(
        raw,
        "events",
        "c.parquet",
        pa.table(
            {
                "event_id": ["p_naive", "p_tz"],
                "user_id": ["u1", "u1"],
                "event_name": ["click", "click"],
                "occurred_at": pa.array([instant, instant], pa.timestamp("us")),
            }
        ),
    )
    write_parquet(
        raw,
        "events",
        "d.parquet",
        pa.table(
            {
                "event_id": ["p_berlin"],
                "user_id": ["u1"],
                "event_name": ["click"],
                "occurred_at": pa.array(
                    [dt.datetime(2026, 10, 5, 10, 0, tzinfo=dt.UTC)], pa.timestamp("us", tz="Europe/Berlin")
                ),
            }
        ),
    )
    report = load_day(con, raw, "events", DAY)
    assert quarantine(con) == []
    times = con.execute("select distinct occurred_at from raw.events").fetchall()
    assert times == [(instant,)]
    assert report.rows_loaded == 2 * len(texts) + 3


def test_blank_null_and_padded_ids(raw, con):
    write(
        raw,
        "exposures",
        "a.csv",
        "user_id,experiment_id,variant,exposed_at,platform\n"
        + ",exp,control,2026-10-05T10:00:00Z,ios\n"
        + "   ,exp,control,2026-10-05T10:00:00Z,ios\n"
        + "null,exp,control,2026-10-05T10:00:00Z,ios\n"
        + "u1,,control,2026-10-05T10:00:00Z,ios\n"
        + "u2,exp,NaN,2026-10-05T10:00:00Z,ios\n"
        + " u3 ,exp , control,2026-10-05T10:00:00Z,\n",
    )
    write(
        raw,
        "exposures",
        "b.jsonl",
        '{"user_id": null, "experiment_id": "exp", "variant": "control", "exposed_at": "2026-10-05T10:00:00Z"}\n'
        '{"user_id": 42, "experiment_id": "exp", "variant": "control", "exposed_at": "2026-10-05T10:00:00Z", '
        '"platform": "web"}\n',
    )
    report = load_day(con, raw, "exposures", DAY)
    assert [r[2] for r in quarantine(con, "exposures")] == [
        "missing user_id",
        "missing user_id",
        "missing user_id",
        "missing experiment_id",
        "missing variant",
        "missing user_id",
    ]
    # ids are trimmed; a JSON number is its text, not a quoted JSON literal
    loaded = con.execute("select user_id, experiment_id, variant from raw.exposures order by user_id").fetchall()
    assert loaded == [("42", "exp", "control"), ("u3", "exp", "control")]
    attributes = con.execute(
        "select user_id, attribute, value from raw.exposure_attributes order by user_id"
    ).fetchall()
    assert attributes == [("42", "platform", "web")]  # u3's empty CSV field is null: no attribute row
    assert_conserved(report, con, "exposures")


def test_duplicate_event_ids_within_a_day_keep_the_first_copy(raw, con):
    write(
        raw,
        "events",
        "a.csv",
        EVENT_HEADER
        + "e1,u1,click,2026-10-05T10:00:00Z,1,\n"
        + "e2,u1,click,2026-10-05T10:00:00Z,2,\n"
        + "e1,u1,click,2026-10-05T10:00:00Z,3,\n",
    )
    write(
        raw,
        "events",
        "b.jsonl",
        json.dumps(
            {"event_id": "e1", "user_id": "u9", "event_name": "x", "occurred_at": "2026-10-05T10:00:00Z", "value": 4}
        )
        + "\n"
        + json.dumps({"event_id": "e3", "user_id": "u1", "event_name": "x", "occurred_at": "2026-10-05T10:00:00Z"})
        + "\n",
    )
    # a bad copy does not shadow a good one
    write(raw, "events", "c.csv", EVENT_HEADER + "e4,u1,click,garbage,,\ne4,u1,click,2026-10-05T10:00:00Z,5,\n")
    report = load_day(con, raw, "events", DAY)
    loaded = dict(con.execute("select event_id, value from raw.events").fetchall())
    assert loaded == {"e1": 1.0, "e2": 2.0, "e3": None, "e4": 5.0}
    assert log_row(con) == {"files": 3, "read": 7, "loaded": 4, "quarantined": 1, "deduplicated": 2}
    assert_conserved(report, con)


def test_type_drift_and_malformed_lines_quarantine_rows_not_files(raw, con):
    # numeric `value` for thousands of rows, then text: DuckDB's sampled type detection would reject the whole file
    lines = [
        json.dumps(
            {
                "event_id": f"e{i}",
                "user_id": "u1",
                "event_name": "purchase",
                "occurred_at": "2026-10-05T10:00:00Z",
                "value": i,
            }
        )
        for i in range(25_000)
    ]
    lines.append(
        json.dumps(
            {
                "event_id": "late",
                "user_id": "u1",
                "event_name": "purchase",
                "occurred_at": "2026-10-05T10:00:00Z",
                "value": "abc",
            }
        )
    )
    lines.append("{this is not json")
    lines.append("[1, 2, 3]")
    write(raw, "events", "a.jsonl", "\n".join(lines) + "\n")
    write(
        raw,
        "events",
        "b.csv",
        EVENT_HEADER
        + "c1,u1,click,2026-10-05T10:00:00Z,,\n"
        + "c2,u1,click,2026-10-05T10:00:00Z,,,too,many\n"
        + "c3,u1,click,2026-10-05T10:00:00Z,,\n",
    )
    report = load_day(con, raw, "events", DAY)
    reasons = [(r[0].rsplit("/", 1)[1], r[2]) for r in quarantine(con)]
    assert reasons[:3] == [
        ("a.jsonl", "non-numeric value: abc"),
        ("a.jsonl", "empty or malformed record"),
        ("a.jsonl", "empty or malformed record"),
    ]
    assert reasons[3][0] == "b.csv" and reasons[3][1].startswith("malformed CSV line: too many columns")
    assert report.rows_loaded == 25_000 + 2
    assert log_row(con) == {"files": 2, "read": 25_000 + 3 + 3, "loaded": 25_002, "quarantined": 4, "deduplicated": 0}
    assert_conserved(report, con)


def test_rerunning_a_day_replaces_it_and_picks_up_a_late_file(raw, con):
    write(raw, "events", "a.csv", EVENT_HEADER + "e1,u1,click,2026-10-05T10:00:00Z,,\nbad,u1,click,never,,\n")
    write(raw, "events", "a.csv", EVENT_HEADER + "x1,u1,click,2026-10-06T10:00:00Z,,\n", day=DAY + dt.timedelta(days=1))
    load_day(con, raw, "events", DAY)
    load_day(con, raw, "events", DAY + dt.timedelta(days=1))

    def snapshot():
        return {
            t: sorted(con.execute(f"select * from raw.{t}").fetchall(), key=repr)
            for t in ("events", "quarantine", "ingestion_log")
        }

    first = snapshot()
    load_day(con, raw, "events", DAY)
    assert snapshot() == first  # same files: same tables, nothing doubled
    write(
        raw,
        "events",
        "late.jsonl",
        json.dumps({"event_id": "e2", "user_id": "u2", "event_name": "click", "occurred_at": "2026-10-05T23:59:59Z"})
        + "\n",
    )
    report = load_day(con, raw, "events", DAY)
    assert report.rows_loaded == 2
    assert sorted(con.execute("select event_id from raw.events").fetchall()) == [("e1",), ("e2",), ("x1",)]
    assert log_row(con)["files"] == 2 and log_row(con)["read"] == 3
    assert len(quarantine(con)) == 1  # the quarantine of the day was replaced, not appended
    assert log_row(con, day=DAY + dt.timedelta(days=1))["loaded"] == 1  # the other day is untouched
    assert_conserved(report, con)


def test_a_day_without_files_is_logged_empty(raw, con):
    report = load_day(con, raw, "events", DAY)
    assert log_row(con) == {"files": 0, "read": 0, "loaded": 0, "quarantined": 0, "deduplicated": 0}
    assert report.balanced
