"""Two runs started at the same time against one Dagster instance never corrupt or lock up the DuckDB file.

What this proves, and how. DuckDB allows one writing process per file; every asset that writes is in pool `duckdb`
and dagster.yaml gives every pool one slot (`concurrency.pools.default_limit: 1`). Pools are enforced per step by
the executor, which claims a slot from the instance's storage before it starts a step and frees it afterwards.
`execute_in_process` uses the in-process executor, which does claim slots (dagster/_core/executor/in_process.py →
InstanceConcurrencyContext); the claim is only shared across processes when the instance is persistent, so each
test starts two OS processes on one temporary DAGSTER_HOME (sqlite storage) holding a dagster.yaml.

Each process runs `ingest_job` for its own days into the same warehouse file. Every ingestion step holds its DuckDB
connection 6 s longer than it needs (a test-only wrapper around the loader; longer than the backend's retries of a
locked file, which otherwise absorb a short overlap). Run a starts first; run b starts the moment a's first writing
step holds the file (a marker file written inside that step), so b asks for the slot while a holds it, and without
serialisation b's first writing step meets a's lock for sure:
  * with the repository's dagster.yaml both runs succeed, no two writing steps overlap in time, and the warehouse
    holds every day of both runs with balanced row counts;
  * with a dagster.yaml without the pool limit (the control) the steps overlap and a run fails on DuckDB's file lock —
    so it is the pool, not luck or timing, that keeps the first case correct.

Why b starts after a holds the slot rather than at the same instant: Dagster's SQLite storage (the storage of
`make dev` and of this test) claims a slot with a read and then an update that SQLite cannot lock
(sql_event_log.py, `_claim_concurrency_slot`: `with_for_update` is a no-op there), so two claims in the same
millisecond can both win. Two processes spinning to one instant and claiming the one slot both won it in 2 of 8
tries here, and this test, when it released both runs through a barrier, failed once in CI that way (run a's
steps hit b's lock). That is Dagster's, not exptrack's, and PostgreSQL storage for Dagster (`FOR UPDATE SKIP
LOCKED`) does not have it; the run that loses fails with WarehouseBusy ("locked by another process ... try again")
and writes nothing. docs/architecture.md, "One writer", says so for operators.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest
import yaml

pytestmark = pytest.mark.background  # a second pytest process started at collection (background_tests.py)

REPO = Path(__file__).resolve().parents[1]
HOLD_SECONDS = 6.0  # longer than the DuckDB backend retries a locked file (5 × 0.5 s), so the control collides
RANGES = {"a": ("2026-10-01", "2026-10-03"), "b": ("2026-10-04", "2026-10-06")}
WAITS_FOR = {"a": "", "b": "a"}  # b starts its run when a's first writing step holds the file

RUNNER = textwrap.dedent(
    """
    import json, os, sys, time
    from pathlib import Path

    tag, start, end, barrier, log = sys.argv[1], sys.argv[2], sys.argv[3], Path(sys.argv[4]), Path(sys.argv[5])
    hold, wait_for = float(sys.argv[6]), sys.argv[7]

    import dagster as dg
    import exptrack_pipeline.defs.ingestion.assets as ingestion
    from exptrack_pipeline.config import Settings
    from exptrack_pipeline.definitions import build_definitions

    real_load_day, real_ingest = ingestion.load_day, ingestion._ingest

    def slow_load_day(con, raw_dir, source, day):
        report = real_load_day(con, raw_dir, source, day)
        (barrier / f"{tag}.writing").touch()  # this run's writing step holds the file (and, pooled, the slot)
        time.sleep(hold / 3)  # keep the write connection open longer than needed
        return report

    def timed_ingest(context, source, landing_zone, warehouse):
        began = time.time()
        yield from real_ingest(context, source, landing_zone, warehouse)
        with log.open("a") as f:
            f.write(json.dumps({"run": tag, "step": source, "start": began, "end": time.time()}) + "\\n")

    ingestion.load_day, ingestion._ingest = slow_load_day, timed_ingest
    defs = build_definitions(Settings.from_env())
    job = defs.resolve_job_def("ingest_job")
    instance = dg.DagsterInstance.get()  # the persistent instance in DAGSTER_HOME

    if wait_for:  # start once the other run's first writing step holds the file
        deadline = time.time() + 120
        while not (barrier / f"{wait_for}.writing").exists() and time.time() < deadline:
            time.sleep(0.02)
    result = job.execute_in_process(
        instance=instance,
        raise_on_error=False,
        tags={"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end},
    )
    errors = [e.event_specific_data.error.to_string() for e in result.all_events if e.is_step_failure]
    print("RESULT " + json.dumps({"run": tag, "success": result.success, "errors": errors}), flush=True)
    """
)


def _landing(raw: Path) -> None:
    for day in range(1, 7):
        date = f"2026-10-{day:02d}"
        for source, header, line in (
            (
                "exposures",
                "user_id,experiment_id,variant,exposed_at",
                "u{i},signup_social_proof,control,{date}T10:00:00Z",
            ),
            ("events", "event_id,user_id,event_name,occurred_at", "e{day}_{i},u{i},session_start,{date}T11:00:00Z"),
        ):
            folder = raw / source / f"date={date}"
            folder.mkdir(parents=True, exist_ok=True)
            rows = [line.format(i=i, date=date, day=day) for i in range(200)]
            (folder / "part-0.csv").write_text(header + "\n" + "\n".join(rows) + "\n")


def _two_runs_at_once(root: Path, dagster_yaml: dict) -> tuple[list[dict], list[dict]]:
    home, barrier, log = root / "dagster_home", root / "barrier", root / "steps.jsonl"
    for folder in (home, barrier):
        folder.mkdir(parents=True)
    (home / "dagster.yaml").write_text(yaml.safe_dump(dagster_yaml))
    limit = dagster_yaml.get("concurrency", {}).get("pools", {}).get("default_limit")
    import dagster as dg

    # Create the instance's sqlite storage before two processes race to create its tables ("table run_tags already
    # exists"), and the pool's slots before two runs race to create them lazily (`make dev` sets them the same way).
    with dg.DagsterInstance.from_config(str(home)) as instance:
        if limit is not None:
            instance.event_log_storage.set_concurrency_slots("duckdb", int(limit))
    script = root / "runner.py"
    script.write_text(RUNNER)
    env = {
        **__import__("os").environ,
        "DAGSTER_HOME": str(home),
        "EXPTRACK_RAW_DIR": str(root / "raw"),
        "EXPTRACK_EXPERIMENTS_DIR": str(REPO / "experiments"),
        "EXPTRACK_METRICS_FILE": str(REPO / "experiments" / "metrics.yaml"),
        "EXPTRACK_WAREHOUSE": str(root / "warehouse.duckdb"),
        "EXPTRACK_OUTPUT_DIR": str(root / "output"),
    }
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), tag, start, end, str(barrier), str(log), str(HOLD_SECONDS), WAITS_FOR[tag]],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=REPO,
        )
        for tag, (start, end) in RANGES.items()
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
        assert lines, f"runner crashed (exit {proc.returncode}):\n{err[-3000:]}"
        results.append(json.loads(lines[-1][7:]))
    steps = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return results, steps


def _overlaps(steps: list[dict]) -> list[tuple]:
    return [
        (a["run"], a["step"], b["run"], b["step"])
        for i, a in enumerate(steps)
        for b in steps[i + 1 :]
        if a["start"] < b["end"] and b["start"] < a["end"]
    ]


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    _landing(tmp_path / "raw")
    return tmp_path


def test_two_concurrent_runs_are_serialised_by_the_duckdb_pool(root, dbt_manifest):
    config = yaml.safe_load((REPO / "dagster.yaml").read_text())
    assert config["concurrency"]["pools"]["default_limit"] == 1
    results, steps = _two_runs_at_once(root, config)
    failures = "\n\n".join(f"run {r['run']}:\n" + "\n".join(r["errors"]) for r in results if not r["success"])
    assert not failures, f"a pooled run failed; steps {steps}\n{failures}"
    assert len(steps) == 4 and {s["run"] for s in steps} == {"a", "b"}
    assert _overlaps(steps) == []
    # both runs waited for each other rather than failing, and the file holds all six days, balanced
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        log = con.execute(
            "select source, count(*), sum(rows_read), sum(rows_loaded), bool_and(rows_read = rows_loaded + "
            "rows_quarantined + rows_deduplicated) "
            "from raw.ingestion_log group by source order by source"
        ).fetchall()
        assert log == [("events", 6, 1200, 1200, True), ("exposures", 6, 1200, 1200, True)]
        assert con.execute("select count(*) from raw.events").fetchone()[0] == 1200


def test_control_without_the_pool_limit_the_same_runs_collide(root, dbt_manifest):
    config = yaml.safe_load((REPO / "dagster.yaml").read_text())
    config.pop("concurrency")
    results, steps = _two_runs_at_once(root, config)
    assert _overlaps(steps) or not all(r["success"] for r in results)
    failed = [r for r in results if not r["success"]]
    assert failed, "without the pool both runs wrote at once and neither noticed: the pool test would prove nothing"
    assert any("lock" in e.lower() for r in failed for e in r["errors"]), failed
