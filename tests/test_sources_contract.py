"""Bad input through the source presets: every record is loaded, quarantined with a reason (and the record as read)
or de-duplicated, per source and day; a wrong sources YAML fails with the file, the field and the fix.

Each test writes a few hand-made lines in a tool's export layout and loads them with the same loader the landing zone
uses; the expected values come from the lines the test wrote.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import zipfile
from pathlib import Path

import duckdb
import pytest
import yaml

from exptrack_pipeline.ingest.loader import load_day
from exptrack_pipeline.sources import SourcesError, all_units, load_sources

DAY = dt.date(2026, 11, 3)


@pytest.fixture()
def con(tmp_path: Path):
    connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    yield connection
    connection.close()


def _sources(tmp_path: Path, *sources: dict) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump({"sources": list(sources)}))
    return path


def _write(raw: Path, folder: str, name: str, lines: list[str], day: dt.date = DAY) -> Path:
    target = raw / folder / f"date={day.isoformat()}"
    target.mkdir(parents=True, exist_ok=True)
    path = target / name
    text = "".join(line + "\n" for line in lines)
    if name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def _load_all(con, raw: Path, sources_file: Path, day: dt.date = DAY) -> dict[str, object]:
    return {unit.name: load_day(con, raw, unit, day) for unit in all_units(raw, sources_file)}


def _quarantine(con, source: str) -> list[tuple]:
    return con.execute(
        "select source_row, reason, record from raw.quarantine where source = ? order by source_row", [source]
    ).fetchall()


def _segment(message_id: str, **fields) -> str:
    base = {
        "type": "track",
        "messageId": message_id,
        "userId": "u1",
        "event": "session_start",
        "timestamp": "2026-11-03T10:00:00Z",
    }
    return json.dumps({**base, **fields})


def test_segment_bad_lines_are_quarantined_with_the_line_and_every_line_is_counted(tmp_path, con):
    raw = tmp_path / "raw"
    lines = [
        _segment("m1"),
        "{not json",
        _segment("m2", userId=None),
        _segment("m3", timestamp="yesterday"),
        _segment("m1"),  # the same messageId again: de-duplicated
        json.dumps(
            {
                "type": "track",
                "event": "Experiment Viewed",
                "messageId": "x1",
                "anonymousId": "a1",
                "timestamp": "2026-11-03T09:00:00Z",
                "properties": {"experiment_id": "exp", "variation_id": "control"},
            }
        ),
        json.dumps({"type": "identify", "messageId": "i1", "userId": "u9", "timestamp": "2026-11-03T09:00:00Z"}),
    ]
    _write(raw, "segment", "part.jsonl.gz", lines)
    reports = _load_all(con, raw, _sources(tmp_path, {"name": "web", "preset": "segment", "folder": "segment"}))
    events, exposures, identities = reports["web:events"], reports["web:exposures"], reports["web:identities"]
    assert (events.rows_read, events.rows_loaded, events.rows_quarantined, events.rows_deduplicated) == (5, 1, 3, 1)
    assert (exposures.rows_read, exposures.rows_loaded) == (1, 1)
    assert (identities.rows_read, identities.rows_quarantined) == (1, 1)
    assert sum(r.rows_read for r in reports.values()) == len(lines)
    assert all(r.balanced for r in reports.values())
    bad = _quarantine(con, "web:events")
    assert [(row, reason) for row, reason, _ in bad] == [
        (2, "empty or malformed record"),
        (3, "missing user_id"),
        (4, "unparseable occurred_at: yesterday"),
    ]
    assert bad[0][2] == "{not json"  # the line as read
    assert json.loads(bad[1][2])["messageId"] == "m2"
    assert _quarantine(con, "web:identities")[0][1] == "missing anonymous_id"
    assert con.execute("select anonymous_id, user_id from raw.exposures").fetchall() == [("a1", None)]


def test_segment_alias_links_the_previous_id(tmp_path, con):
    raw = tmp_path / "raw"
    _write(
        raw,
        "segment",
        "part.jsonl",
        [
            json.dumps(
                {
                    "type": "alias",
                    "messageId": "al1",
                    "previousId": "anon-7",
                    "userId": "u7",
                    "timestamp": "2026-11-03T09:00:00Z",
                }
            ),
            json.dumps(
                {
                    "type": "identify",
                    "messageId": "id1",
                    "anonymousId": "anon-8",
                    "userId": "u8",
                    "timestamp": "2026-11-03T09:30:00Z",
                }
            ),
        ],
    )
    reports = _load_all(con, raw, _sources(tmp_path, {"name": "web", "preset": "segment", "folder": "segment"}))
    assert reports["web:identities"].rows_loaded == 2 and reports["web:events"].rows_read == 0
    links = con.execute("select anonymous_id, user_id, identified_at from raw.identities order by 1").fetchall()
    assert links == [("anon-7", "u7", dt.datetime(2026, 11, 3, 9)), ("anon-8", "u8", dt.datetime(2026, 11, 3, 9, 30))]


def _mixpanel(insert_id: str, time: int, event: str = "session_start") -> str:
    return json.dumps(
        {"event": event, "properties": {"time": time, "distinct_id": "u1", "$user_id": "u1", "$insert_id": insert_id}}
    )


def test_mixpanel_epoch_in_the_wrong_unit_is_quarantined_and_duplicates_across_files_count_once(tmp_path, con):
    raw = tmp_path / "raw"
    seconds = int(dt.datetime(2026, 11, 3, 10, tzinfo=dt.UTC).timestamp())
    _write(raw, "mixpanel", "a.jsonl", [_mixpanel("i1", seconds), _mixpanel("i2", seconds * 1000), _mixpanel("i3", -5)])
    _write(raw, "mixpanel", "b.jsonl", [_mixpanel("i1", seconds), _mixpanel("", seconds)])
    reports = _load_all(
        con, raw, _sources(tmp_path, {"name": "app", "preset": "mixpanel", "folder": "mixpanel", "epoch": "s"})
    )
    events = reports["app:events"]
    assert (events.rows_read, events.rows_loaded, events.rows_quarantined, events.rows_deduplicated) == (5, 1, 3, 1)
    reasons = [reason for _, reason, _ in _quarantine(con, "app:events")]
    assert (
        f"unparseable occurred_at: epoch {seconds * 1000} in s is out of range (2000..2100): wrong epoch unit?"
        in reasons
    )
    assert "missing event_id" in reasons
    assert con.execute("select occurred_at from raw.events").fetchall() == [(dt.datetime(2026, 11, 3, 10),)]


def test_mixpanel_auto_epoch_reads_seconds_and_milliseconds(tmp_path, con):
    raw = tmp_path / "raw"
    seconds = int(dt.datetime(2026, 11, 3, 10, tzinfo=dt.UTC).timestamp())
    _write(raw, "mixpanel", "a.jsonl", [_mixpanel("i1", seconds), _mixpanel("i2", seconds * 1000 + 250)])
    _load_all(con, raw, _sources(tmp_path, {"name": "app", "preset": "mixpanel", "folder": "mixpanel"}))
    stamps = [r[0] for r in con.execute("select occurred_at from raw.events order by event_id").fetchall()]
    assert stamps == [dt.datetime(2026, 11, 3, 10), dt.datetime(2026, 11, 3, 10, 0, 0, 250000)]


def test_a_corrupt_amplitude_zip_is_recorded_whole_and_the_other_file_loads(tmp_path, con):
    raw = tmp_path / "raw"
    folder = raw / "amplitude" / f"date={DAY.isoformat()}"
    folder.mkdir(parents=True)
    (folder / "broken.zip").write_bytes(b"PK\x03\x04 not really a zip")
    event = {
        "event_type": "session_start",
        "user_id": "u1",
        "device_id": "d1",
        "event_time": "2026-11-03 10:00:00.000000",
        "$insert_id": "e1",
    }
    with zipfile.ZipFile(folder / "good.zip", "w") as archive:
        archive.writestr("187/187_2026-11-03_10#0.json.gz", gzip.compress((json.dumps(event) + "\n").encode()))
    reports = _load_all(con, raw, _sources(tmp_path, {"name": "product", "preset": "amplitude", "folder": "amplitude"}))
    events = reports["product:events"]
    assert events.rows_loaded == 1 and events.balanced
    assert "not an Amplitude export zip" in events.file_problems["amplitude/date=2026-11-03/broken.zip"]
    assert con.execute("select user_id, device_id from raw.events").fetchall() == [("u1", "d1")]


def test_reloading_a_day_replaces_only_that_source(tmp_path, con):
    raw = tmp_path / "raw"
    _write(raw, "segment", "part.jsonl", [_segment("m1"), _segment("m2")])
    _write(
        raw,
        "events",
        "part.jsonl",
        [json.dumps({"event_id": "n1", "user_id": "u1", "event_name": "x", "occurred_at": "2026-11-03T10:00:00Z"})],
    )
    sources = _sources(
        tmp_path,
        {"name": "native", "preset": "exptrack", "folder": "."},
        {"name": "web", "preset": "segment", "folder": "segment"},
    )
    _load_all(con, raw, sources)
    _write(raw, "segment", "late.jsonl", [_segment("m3")])
    _load_all(con, raw, sources)
    rows = con.execute("select source, count(*) from raw.events group by 1 order by 1").fetchall()
    assert rows == [("events", 1), ("web:events", 3)]
    log = con.execute(
        "select source, rows_read from raw.ingestion_log where source like '%events' order by 1"
    ).fetchall()
    assert log == [("events", 1), ("web:events", 3)]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ({"name": "web", "preset": "segmnt"}, "field `sources.0 (web).preset`"),
        (
            {"name": "web", "preset": "segment", "exposures": {"variant_name": "properties.v"}},
            "exposures.variant_name: not a field of the exposures contract",
        ),
        ({"name": "web", "preset": "custom", "events": {"event_id": "id"}}, "a custom source needs `format`"),
        ({"name": "web", "preset": "mixpanel", "epoch": "minutes"}, "field `sources.0 (web).epoch`"),
        (
            {"name": "web", "preset": "segment", "events": {"occurred_at": {"field": "ts", "epoch": "ms", "oops": 1}}},
            "unknown key(s) oops",
        ),
        (
            {"name": "Web", "preset": "segment"},
            "field `sources.0 (Web).name`: 'Web': a source name is lower_snake_case",
        ),
        (
            {"name": "web", "preset": "segment", "routes": {"exposures": {"field": "event"}}},
            "a route is {field: <path>, equals: <text>}",
        ),
    ],
)
def test_a_wrong_sources_file_names_the_file_the_field_and_the_fix(tmp_path, source, expected):
    path = _sources(tmp_path, source)
    with pytest.raises(SourcesError) as error:
        load_sources(path)
    message = str(error.value)
    assert str(path) in message and expected in message


def test_two_sources_reading_one_folder_are_refused(tmp_path):
    path = _sources(
        tmp_path, {"name": "a", "preset": "segment", "folder": "s"}, {"name": "b", "preset": "mixpanel", "folder": "s"}
    )
    with pytest.raises(SourcesError, match="two sources read the same folder"):
        load_sources(path)


def test_the_readme_example_is_a_valid_sources_file(tmp_path):
    """The worked examples in README "Connect your data" load, and each source feeds the contracts it should."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("## Connect your data", 1)[1]
    block = section.split("```yaml", 1)[1].split("```", 1)[0]
    path = tmp_path / "sources.yaml"
    path.write_text(block)
    config = load_sources(path)
    assert [s.preset for s in config.sources] == [
        "exptrack",
        "segment",
        "rudderstack",
        "amplitude",
        "mixpanel",
        "snowplow",
        "ga4",
        "segment_warehouse",
        "exptrack",
        "custom",
    ]
    units = {u.name: u for u in all_units(tmp_path / "raw", path)}
    assert {
        "web:identities",
        "app:identities",
        "flags:exposures",
        "flags:events",
        "analytics:exposures",
        "warehouse:identities",
    } <= set(units)
    assert (units["product_db:events"].table, units["product_db:events"].in_place.day_column) == (
        "product_events.events",
        "occurred_at",
    )
    assert "flags:identities" not in units and "product:identities" not in units


def test_a_warehouse_table_is_read_in_place_day_by_day_and_undated_rows_are_refused(tmp_path, con):
    con.execute("create schema seg")
    con.execute(
        "create table seg.tracks as select * from (values "
        "('t1', null, 'u1', 'session_start', timestamp '2026-11-03 10:00:00'), "
        "('t2', 'a1', null, 'session_start', timestamp '2026-11-04 10:00:00'), "
        "('t3', null, null, 'session_start', timestamp '2026-11-03 11:00:00')) as t(id, anonymous_id, user_id, "
        "event, timestamp)"
    )
    sources = _sources(
        tmp_path,
        {"name": "wh", "preset": "segment_warehouse", "warehouse_schema": "seg", "tables": {"events": "seg.tracks"}},
    )
    units = [u for u in all_units(tmp_path / "raw", sources) if u.name == "wh:events"]
    report = load_day(con, tmp_path / "raw", units[0], DAY)
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (2, 1, 1) and report.balanced
    assert _quarantine(con, "wh:events")[0][1] == "missing user_id"
    assert load_day(con, tmp_path / "raw", units[0], DAY).rows_loaded == 1  # a re-load replaces the day
    con.execute("insert into seg.tracks values ('t4', null, 'u2', 'session_start', null)")
    refused = load_day(con, tmp_path / "raw", units[0], DAY)
    assert (
        refused.rows_read == 0
        and "1 row(s) of seg.tracks have no timestamp" in refused.file_problems["warehouse:seg.tracks"]
    )


def test_snowplow_tsv_lines_with_the_wrong_number_of_fields_are_quarantined(tmp_path, con):
    from exptrack_pipeline.sources.snowplow import ENRICHED_FIELDS

    def line(**values) -> str:
        return "\t".join(values.get(name, "") for name in ENRICHED_FIELDS)

    good = line(
        event_id="e1",
        event="struct",
        se_category="product",
        se_action="session_start",
        user_id="u1",
        derived_tstamp="2026-11-03 10:00:00.000",
    )
    exposure = line(
        event_id="e2",
        event="struct",
        se_category="experiment",
        se_action="exp",
        se_label="control",
        domain_userid="d1",
        derived_tstamp="2026-11-03 09:00:00.000",
    )
    _write(tmp_path / "raw", "snowplow", "enriched.tsv", [good, exposure, "e3\tonly three\tfields", good])
    reports = _load_all(
        con, tmp_path / "raw", _sources(tmp_path, {"name": "tracker", "preset": "snowplow", "folder": "snowplow"})
    )
    events, exposures = reports["tracker:events"], reports["tracker:exposures"]
    assert (events.rows_read, events.rows_loaded, events.rows_quarantined, events.rows_deduplicated) == (3, 1, 1, 1)
    assert (exposures.rows_read, exposures.rows_loaded) == (1, 1)
    assert _quarantine(con, "tracker:events") == [(3, "empty or malformed record", "e3\tonly three\tfields")]
    assert con.execute("select anonymous_id, experiment_id, variant from raw.exposures").fetchall() == [
        ("d1", "exp", "control")
    ]


def test_exptrack_validate_reports_a_wrong_sources_file(tmp_path, monkeypatch, capsys):
    import shutil

    from exptrack_pipeline.cli import main

    registry = tmp_path / "experiments"
    shutil.copytree(Path(__file__).resolve().parents[1] / "experiments", registry)
    (registry / "sources.yaml").write_text(
        yaml.safe_dump({"sources": [{"name": "app", "preset": "mixpanel", "epoch": "hours"}]})
    )
    monkeypatch.setenv("EXPTRACK_EXPERIMENTS_DIR", str(registry))
    monkeypatch.delenv("EXPTRACK_METRICS_FILE", raising=False)
    monkeypatch.delenv("EXPTRACK_SOURCES_FILE", raising=False)
    assert main(["validate"]) == 2
    error = capsys.readouterr().err
    assert (
        str(registry / "sources.yaml") in error
        and "field `sources.0 (app).epoch`" in error
        and "'s', 'ms', 'us' or 'auto'" in error
    )
    (registry / "sources.yaml").write_text(
        yaml.safe_dump({"sources": [{"name": "app", "preset": "mixpanel", "epoch": "ms"}]})
    )
    assert main(["validate"]) == 0 and capsys.readouterr().out.startswith("ok:")
