"""The demo with its exposures in Segment's format (`make demo-segment`) loads the same exposures and attributes
as the native landing zone it was made from."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb

from exptrack_pipeline.demo.generate import generate_demo
from exptrack_pipeline.ingest.loader import load_day
from exptrack_pipeline.sources import all_units
from exptrack_pipeline.sources.demo import exposures_to_segment


def _days(raw: Path, folder: str) -> list[dt.date]:
    return [dt.date.fromisoformat(p.name[5:]) for p in sorted((raw / folder).glob("date=*"))]


def _exposures(con) -> list[tuple]:
    return con.execute("select user_id, experiment_id, variant, exposed_at from raw.exposures order by all").fetchall()


def test_segment_demo_exposures_equal_the_native_ones(tmp_path):
    native_raw, segment_raw = tmp_path / "native", tmp_path / "segment"
    generate_demo(native_raw, seed=7, scale=0.03)
    shutil.copytree(native_raw, segment_raw)
    written = exposures_to_segment(segment_raw)
    assert not (segment_raw / "exposures").exists() and sum(written.values()) > 1000

    native, segment = duckdb.connect(), duckdb.connect()
    for day in _days(native_raw, "exposures"):
        load_day(native, native_raw, "exposures", day)
    units = [u for u in all_units(segment_raw, segment_raw / "sources.yaml") if u.contract.name == "exposures"]
    reports = [load_day(segment, segment_raw, unit, day) for unit in units for day in _days(segment_raw, "segment")]
    assert all(r.balanced for r in reports)

    assert _exposures(segment) == _exposures(native)
    attributes = "select user_id, experiment_id, attribute, value from raw.exposure_attributes order by all"
    assert segment.execute(attributes).fetchall() == native.execute(attributes).fetchall()
    reasons = (
        "select regexp_replace(reason, ':.*', '') r, count(*) from raw.quarantine where record is not null group "
        "by 1 order by 1"
    )
    assert segment.execute(reasons).fetchall() == native.execute(reasons).fetchall()
