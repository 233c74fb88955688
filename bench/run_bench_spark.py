"""The pipeline benchmark on local Apache Spark beside DuckDB, on the same landing zone in one run (issue 18).

    nice -n 10 .venv/bin/python bench/run_bench_spark.py --events 10M      # table: --from-profiles

Per size: the landing zone of bench/generate_bench.py (cached under data/bench/<size>/), then bench/run_bench.py's
phases (its `run_child`, unchanged) on each engine, one after the other:

* Spark      backfill (ingest days 1-29, every dbt model and test, the statistics assets), then the day-30
             increment, with EXPTRACK_DBT_TARGET=spark against one throw-away local Spark server
             (tests/spark_server.py: local[2], driver memory 6g and 32 shuffle partitions unless
             EXPTRACK_SPARK_DRIVER_MEMORY / EXPTRACK_SPARK_SHUFFLE_PARTITIONS say otherwise, parquet tables); the
             increment is incremental on Spark too (macros/spark/exptrack_incremental_spark.sql);
* DuckDB     the same two phases on a fresh warehouse file.

Spark's work happens in the server's JVM, not in the Dagster process: the JVM's CPU seconds (from /proc) are added to
the child's, and the peak RSS is the Dagster process tree's plus the JVM's, sampled every 0.2 s. The load average
during each phase is reported: on a shared machine the seconds only compare within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "tests"))

import run_bench  # noqa: E402
from generate_bench import N_DAYS, generate, parse_count  # noqa: E402

ENGINES = ("spark", "duckdb")
SPARK_WAREHOUSE_FILE = "warehouse-spark.duckdb"  # the state store beside Spark: the tables live in Spark
BENCH_DRIVER_MEMORY = "6g"  # EXPTRACK_SPARK_DRIVER_MEMORY overrides
BENCH_SHUFFLE_PARTITIONS = "32"  # EXPTRACK_SPARK_SHUFFLE_PARTITIONS overrides; adaptive execution coalesces small ones


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process (/proc/<pid>/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_spark_child(phase: str, root: Path, server) -> dict:
    """run_bench.py's child process for `phase` on the spark target (its environment names the server), with the
    server JVM's CPU seconds added and its RSS sampled beside the child's."""
    # The child reports this file's size: on Spark it is the state store beside Spark (alerts, state; a DuckDB file by
    # default, EXPTRACK_STATE_URL), created by the registry step; the tables themselves are in the JVM's warehouse.
    jvm = server.process.pid  # spark-submit execs java in the same process
    jvm_cpu_before, peak, done = _cpu_seconds(jvm), [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], run_bench._tree_rss(jvm)[0])
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    saved = dict(os.environ)
    os.environ.update(server.env())
    try:
        result = run_bench.run_child(phase, root, N_DAYS, SPARK_WAREHOUSE_FILE)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        done.set()
        sampler.join()
    result["jvm_cpu_s"] = round(_cpu_seconds(jvm) - jvm_cpu_before, 1)
    result["cpu_s"] = round(result["cpu_s"] + result["jvm_cpu_s"], 1)
    result["peak_jvm_rss_mb"] = round(peak[0] / 2**20)
    result["peak_rss_mb"] += result["peak_jvm_rss_mb"]  # the two peaks added: an upper bound of the sum's peak
    return result


def warehouse_mb(server) -> float:
    """Size of the Spark warehouse directory (every table's parquet files)."""
    files = (server.root / "warehouse").rglob("*")
    return round(sum(f.stat().st_size for f in files if f.is_file()) / 2**20, 1)


def bench_size(n_events: int, data_dir: Path, engines: tuple[str, ...] = ENGINES) -> dict:
    """Spark then DuckDB, backfill and increment each, on one landing zone; profile-spark.json keeps what is measured
    (an engine left out keeps its numbers from the last run)."""
    root = data_dir / run_bench.label(n_events)
    info_file = root / "bench_data.json"
    info = json.loads(info_file.read_text()) if info_file.exists() else {}
    if info.get("events_requested") != n_events:
        print(f"[{run_bench.label(n_events)}] generating ...", flush=True)
        info = generate(root, n_events)
    profile = root / "profile-spark.json"
    result = json.loads(profile.read_text()) if profile.exists() else {}
    result.update({"events": n_events, "data": info})
    if "spark" in engines:
        spark_phases(root, result, profile)
    if "duckdb" in engines:
        for stale in ("warehouse.duckdb", "warehouse.duckdb.wal"):
            (root / stale).unlink(missing_ok=True)
        for phase in ("backfill", "increment"):
            print(f"[{run_bench.label(n_events)}] DuckDB {phase} ...", flush=True)
            result[f"duckdb_{phase}"] = run_bench.run_child(phase, root)
            profile.write_text(json.dumps(result, indent=2) + "\n")
    return result


def spark_phases(root: Path, result: dict, profile: Path) -> None:
    """The backfill and the increment on one throw-away local Spark server (started here, deleted after)."""
    import spark_server

    home = spark_server.find_spark_home()
    if home is None or spark_server.find_java() is None:
        raise SystemExit("Spark needs java and pyspark: make .venv/.spark-installed")
    (root / SPARK_WAREHOUSE_FILE).unlink(missing_ok=True)
    # At 10M events the demo's server settings (driver 2g, 4 shuffle partitions) run out of heap in the de-duplication
    # window (2.5M rows per partition): the benchmark sizes both from the environment, with larger defaults.
    driver_memory = os.environ.get("EXPTRACK_SPARK_DRIVER_MEMORY", BENCH_DRIVER_MEMORY)
    spark_server.SERVER_CONF["spark.sql.shuffle.partitions"] = os.environ.get(
        "EXPTRACK_SPARK_SHUFFLE_PARTITIONS", BENCH_SHUFFLE_PARTITIONS
    )
    result["driver_memory"] = driver_memory
    result["shuffle_partitions"] = spark_server.SERVER_CONF["spark.sql.shuffle.partitions"]
    began = time.perf_counter()
    with spark_server.SparkServer(home, driver_memory=driver_memory) as server:
        result["spark_start_s"] = round(time.perf_counter() - began, 1)
        for phase in ("backfill", "increment"):
            print(f"[{run_bench.label(result['events'])}] Spark {phase} ...", flush=True)
            result[f"spark_{phase}"] = run_spark_child(phase, root, server)
            profile.write_text(json.dumps(result, indent=2) + "\n")  # what is measured so far
        result["spark_warehouse_mb"] = warehouse_mb(server)
    profile.write_text(json.dumps(result, indent=2) + "\n")


def _phase_cell(phase: dict) -> str:
    return f"{phase['total_s']:.0f} s ({phase['cpu_s']:.0f} CPU-s)"


def table(results: list[dict]) -> str:
    """Rows per size and engine: backfill, increment, their parts, the increment's share, peak RSS, load."""
    head = (
        "| events | engine | full backfill | = ingest + dbt & results | daily increment (day 30) "
        "| = ingest + dbt & results | increment / backfill | peak RSS | load avg |\n"
        "|---|---|---|---|---|---|---|---|---|\n"
    )
    rows = []
    for r in results:
        for engine, name in (("duckdb", "DuckDB"), ("spark", f"Spark local[2], driver {r['driver_memory']}")):
            b, i = r[f"{engine}_backfill"], r[f"{engine}_increment"]
            rss = max(b["peak_rss_mb"], i["peak_rss_mb"])
            rows.append(
                f"| {run_bench.label(r['events'])} ({r['data']['event_rows']:,} rows) | {name} | {_phase_cell(b)} "
                f"| {b['ingest_s']:.0f} + {b['analysis_s']:.0f} s | {_phase_cell(i)} "
                f"| {i['ingest_s']:.0f} + {i['analysis_s']:.0f} s | {i['total_s'] / b['total_s']:.2f} "
                f"| {rss:,} MB | {b['load_avg']} / {i['load_avg']} |"
            )
    notes = "\n".join(
        f"- {run_bench.label(r['events'])}: Spark backfill / DuckDB backfill "
        f"{r['spark_backfill']['total_s'] / r['duckdb_backfill']['total_s']:.1f}x, increment "
        f"{r['spark_increment']['total_s'] / r['duckdb_increment']['total_s']:.1f}x; server start "
        f"{r['spark_start_s']} s (not counted); the JVM's share of Spark's CPU "
        f"{r['spark_backfill']['jvm_cpu_s']:.0f} / {r['spark_increment']['jvm_cpu_s']:.0f} CPU-s; JVM peak RSS "
        f"{max(r['spark_backfill']['peak_jvm_rss_mb'], r['spark_increment']['peak_jvm_rss_mb']):,} MB; "
        f"Spark warehouse {r['spark_warehouse_mb']:,} MB of parquet; slowest dbt models on Spark (s): "
        f"{run_bench._top_models({'backfill': r['spark_backfill']})} (backfill), "
        f"{run_bench._top_models({'increment': r['spark_increment']}, phase='increment')} (increment)"
        for r in results
    )
    return head + "\n".join(rows) + "\n\n" + notes + "\n"


def main(argv: list[str] | None = None) -> int:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description="Benchmark the exptrack pipeline on local Spark beside DuckDB.")
    parser.add_argument("--events", nargs="+", type=parse_count, default=[10_000_000])
    parser.add_argument("--data-dir", type=Path, default=REPO / "data" / "bench")
    parser.add_argument("--from-profiles", action="store_true", help="rebuild the table from profile-spark.json")
    parser.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES), help="measure only these")
    args = parser.parse_args(argv)
    if args.from_profiles:
        files = [args.data_dir / run_bench.label(n) / "profile-spark.json" for n in args.events]
        results = [json.loads(path.read_text()) for path in files]
    else:
        results = [bench_size(n, args.data_dir, tuple(args.engines)) for n in args.events]
    complete = all(f"{engine}_increment" in r for r in results for engine in ENGINES)
    # BENCHMARKS.md, "Spark vs DuckDB at 10M events", quotes the table with the run's context
    print(table(results) if complete else json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
