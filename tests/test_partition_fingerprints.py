"""The loader's change log (raw.partition_fingerprints) tells dbt which event partitions changed (issue 16).

A daily run no longer hashes every event: int_event_partition_fingerprints takes each partition's fingerprint from
the log the loader writes, and hashes only the partitions the log does not account for (rows written without the
loader). Each test loads hand-made landing-zone days with the real loader and builds the model with dbt; the
expectations come from what the test changed, not from the code.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path

import duckdb
import pytest
from pipeline_support import REPO

from exptrack_pipeline.ingest import load_day
from exptrack_pipeline.ingest.loader import day_folder

pytestmark = pytest.mark.background  # a second pytest process started at collection (background_tests.py)

DAYS = [dt.date(2026, 10, 1), dt.date(2026, 10, 2)]
HEADER = "event_id,user_id,event_name,occurred_at,value,session_id\n"


def write_day(raw: Path, day: dt.date, rows: list[str]) -> None:
    folder = day_folder(raw, "events", day)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "part-0.csv").write_text(HEADER + "".join(row + "\n" for row in rows))


def day_rows(day: dt.date, n: int, value: str = "1.5") -> list[str]:
    return [f"{day}-e{i},u{i},purchase,{day}T10:00:0{i}Z,{value},s{i}" for i in range(n)]


class Warehouse:
    """A DuckDB warehouse loaded by the real loader; `fingerprints()` builds the model with dbt and reads it."""

    def __init__(self, root: Path) -> None:
        self.root, self.raw, self.path = root, root / "raw", root / "warehouse.duckdb"

    def load(self, day: dt.date) -> None:
        with duckdb.connect(str(self.path)) as con:
            report = load_day(con, self.raw, "events", day)
        assert report.balanced and report.rows_loaded > 0

    def execute(self, sql: str) -> None:
        with duckdb.connect(str(self.path)) as con:
            con.execute(sql)

    def fingerprints(self) -> dict[tuple[str, str], tuple[int, str]]:
        """{(partition, part): (row count, hash sum)} of int_event_partition_fingerprints after a dbt build."""
        from exptrack_pipeline.defs.project import dbt_executable

        args = [dbt_executable(), "run", "--select", "int_event_partition_fingerprints", "--profiles-dir", "."]
        args += ["--quiet", "--target-path", str(self.root / "target"), "--log-path", str(self.root / "logs")]
        env = {**os.environ, "EXPTRACK_WAREHOUSE": str(self.path), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
        result = subprocess.run(args, cwd=REPO / "dbt_project", env=env, capture_output=True, text=True)
        assert result.returncode == 0, f"dbt run failed:\n{result.stdout[-3000:]}\n{result.stderr[-2000:]}"
        with duckdb.connect(str(self.path), read_only=True) as con:
            rows = con.execute(
                "select fingerprint_key, fingerprint_part, row_count, row_hash_sum "
                "from main.int_event_partition_fingerprints"
            ).fetchall()
        return {(key, part): (count, hash_sum) for key, part, count, hash_sum in rows}


@pytest.fixture()
def warehouse(tmp_path: Path) -> Warehouse:
    wh = Warehouse(tmp_path)
    write_day(wh.raw, DAYS[0], day_rows(DAYS[0], 3))
    write_day(wh.raw, DAYS[1], day_rows(DAYS[1], 4))
    for day in DAYS:
        wh.load(day)
    return wh


def test_partitions_come_from_the_change_log_unless_rows_were_written_without_the_loader(warehouse):
    """One warehouse through four builds (dbt's start-up is the cost of this test):

    1. loaded days: one `logged` fingerprint per day, with the day's row count;
    2. day 1 loaded again from the same files, day 2 re-sent with other values (same count): day 1 unchanged,
       day 2 changed;
    3. a row written by hand into day 1 (not by the loader): day 1's count differs from the log, so day 1 is hashed
       from the rows; day 2 still comes from the log;
    4. raw tables without the log (written by another tool) and a row of day 2 edited: every day hashed, day 1's
       fingerprint the same as in 3.
    """
    one, two = (str(day) for day in DAYS)
    first = warehouse.fingerprints()
    assert set(first) == {(one, "logged events"), (two, "logged events")}
    assert first[(one, "logged events")][0] == 3 and first[(two, "logged events")][0] == 4

    warehouse.load(DAYS[0])
    write_day(warehouse.raw, DAYS[1], day_rows(DAYS[1], 4, value="2.5"))
    warehouse.load(DAYS[1])
    resent = warehouse.fingerprints()
    assert set(resent) == set(first)
    assert resent[(one, "logged events")] == first[(one, "logged events")]
    assert resent[(two, "logged events")][0] == 4
    assert resent[(two, "logged events")][1] != first[(two, "logged events")][1]

    warehouse.execute(
        "insert into raw.events (partition_date, source_file, source_row, event_id, user_id, event_name, "
        f"occurred_at, value, source) values ('{one}', 'by-hand', 1, 'x1', 'u9', 'purchase', '{one} 11:00:00', 1, "
        "'events')"
    )
    by_hand = warehouse.fingerprints()
    assert set(by_hand) == {(one, "hashed events"), (two, "logged events")}
    assert by_hand[(one, "hashed events")][0] == 4
    assert by_hand[(two, "logged events")] == resent[(two, "logged events")]

    warehouse.execute("drop table raw.partition_fingerprints")
    warehouse.execute(f"update raw.events set value = 9 where partition_date = '{two}' and source_row = 1")
    unlogged = warehouse.fingerprints()
    assert set(unlogged) == {(one, "hashed events"), (two, "hashed events")}
    assert unlogged[(one, "hashed events")] == by_hand[(one, "hashed events")]
    assert unlogged[(two, "hashed events")][0] == 4
