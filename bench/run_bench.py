"""Benchmark exptrack end to end and write the table in BENCHMARKS.md.

    .venv/bin/python bench/run_bench.py --events 1M 10M [100M] [--write BENCHMARKS.md]

Per size: generate the landing zone (bench/generate_bench.py, cached under data/bench/<size>/), then

* floor      one plain DuckDB query over the landing-zone parquet files: every event read once, joined to its
             users' experiment and variant and to the metric catalog, grouped by experiment x variant x metric;
* backfill   a fresh warehouse: ingest_job over the first 29 days in one run, then registry + every dbt model and
             test + experiment_results, retention_results, segment_results (the lifecycle/monitoring assets are not
             part of the core pipeline and are left out);
* increment  then one daily run on that warehouse: ingest day 30 (a new day) and run everything downstream (the
             incremental dbt models rebuild only what changed: docs/incremental.md);
* empty      then the same daily run again with no new day (day 30 is already loaded: nothing changed): the fixed
             floor of a daily run, so that increment = empty + the day's marginal cost;
* day 10     the same on a second fresh warehouse with 9 days, then day 10: the increment as history grows;
* stats      the experiment_results step alone (read fct_variant_metric_stats, statistics library, write);
* peak RSS   of the whole process tree (Dagster process, dbt subprocess), sampled every 0.1 s.

Every pipeline phase runs in a child process (this script with --child) with the production memory limit
(EXPTRACK_DUCKDB_MEMORY_LIMIT, read by dbt and by the ingestion alike; default 3GB) on an ephemeral Dagster instance.
EXPTRACK_BENCH_PROFILE=1 profiles each child's Dagster process with cProfile
(data/bench/<size>/<phase>-day<N>-<warehouse>.prof; the profiler slows it: not for timings).
Per-model dbt timings come from Dagster's event log (dagster-dbt's `Execution Duration` of each node: the pipeline's dbt
writes no run_results.json); they are written to data/bench/<size>/profile.json with the dbt step's split (dbt start-up
and parse, models, tests, Dagster after the last node) and the peak RSS per process.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from generate_bench import DATA_START, N_DAYS, generate, parse_count  # noqa: E402

from exptrack_pipeline.warehouse.duckdb_backend import DEFAULT_MEMORY_LIMIT  # noqa: E402

MEMORY_LIMIT = DEFAULT_MEMORY_LIMIT  # the production default (dbt_project/profiles.yml, WarehouseResource)
THREADS = os.cpu_count() or 2
CORE_ASSETS = ("experiment_registry", "experiment_results", "retention_results", "segment_results")
MARK_START, MARK_END = "<!-- bench:start -->", "<!-- bench:end -->"
WAREHOUSE_FILE = ["warehouse.duckdb"]  # the child's warehouse (day-10 runs use their own)


def label(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n:,}"


# ----------------------------------------------------------------------------------------------- child process


def _env(root: Path) -> dict[str, str]:
    return {
        "EXPTRACK_RAW_DIR": str(root / "raw"),
        "EXPTRACK_EXPERIMENTS_DIR": str(root / "experiments"),
        "EXPTRACK_METRICS_FILE": str(root / "experiments" / "metrics.yaml"),
        "EXPTRACK_WAREHOUSE": str(root / WAREHOUSE_FILE[0]),
        "EXPTRACK_OUTPUT_DIR": str(root / "output"),
        "EXPTRACK_START_DATE": DATA_START.isoformat(),
        "EXPTRACK_DUCKDB_MEMORY_LIMIT": MEMORY_LIMIT,
    }


def _step_seconds(instance, run_id: str) -> dict[str, float]:
    from dagster import DagsterEventType

    starts, out = {}, {}
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None or record.step_key is None:
            continue
        if event.event_type == DagsterEventType.STEP_START:
            starts[record.step_key] = record.timestamp
        elif event.event_type in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
            out[record.step_key] = round(record.timestamp - starts.get(record.step_key, record.timestamp), 2)
    return out


def _metadata(event) -> dict:
    """The metadata of a materialization, asset check evaluation or observation event, else {}."""
    data = event.event_specific_data
    for holder in (getattr(data, "materialization", None), getattr(data, "asset_observation", None), data):
        metadata = getattr(holder, "metadata", None)
        if isinstance(metadata, dict):
            return metadata
    return {}


def dbt_node_events(instance, run_id: str) -> dict:
    """Per dbt node of the run, from Dagster's event log (the pipeline's dbt writes no run_results.json:
    defs/dbt/cli_resource.py): `nodes` {unique_id: execution seconds} and the dbt step's `step_start`,
    `first_node_start` (the earliest node's event time less its duration), `last_node_end` and `step_end` times.
    dagster-dbt puts each node's `unique_id` and `Execution Duration` (dbt's node_started_at to node_finished_at)
    on the event it logs when the node finishes."""
    from dagster import DagsterEventType

    out: dict = {"nodes": {}}
    starts, ends = [], []
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None or record.step_key != "exptrack_dbt_models":
            continue
        if event.event_type == DagsterEventType.STEP_START:
            out["step_start"] = record.timestamp
        elif event.event_type in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
            out["step_end"] = record.timestamp
        metadata = _metadata(event)
        unique_id, duration = metadata.get("unique_id"), metadata.get("Execution Duration")
        if unique_id is None or duration is None or unique_id.value in out["nodes"]:
            continue
        out["nodes"][unique_id.value] = round(float(duration.value), 2)
        starts.append(record.timestamp - float(duration.value))
        ends.append(record.timestamp)
    if starts:
        out["first_node_start"], out["last_node_end"] = min(starts), max(ends)
    return out


def dbt_split(step_s: float, events: dict) -> dict[str, float]:
    """Where the dbt step's wall time went: dbt's start-up and parse (step start to the first node, with Dagster's
    set-up before it starts dbt), models, tests, dbt's work between nodes, and Dagster after the last node (handling
    the rest of the event stream, ending the step) — from `dbt_node_events`."""
    nodes = events.get("nodes", {})
    if not nodes or "step_start" not in events:
        return {}
    span = events["last_node_end"] - events["first_node_start"]
    models = sum(t for n, t in nodes.items() if n.startswith("model."))
    tests = sum(t for n, t in nodes.items() if n.startswith("test."))
    return {
        "step_s": round(step_s, 2),
        "dagster_s": round(events.get("step_end", events["last_node_end"]) - events["last_node_end"], 2),
        "startup_parse_s": round(events["first_node_start"] - events["step_start"], 2),
        "models_s": round(models, 2),
        "tests_s": round(tests, 2),
        "between_nodes_s": round(span - models - tests, 2),
        "nodes": len(nodes),
    }


def child(phase: str, root: Path, through: int) -> None:
    """Run one phase in this process and print one JSON line with its timings: a backfill ingests days
    1..through - 1 into a fresh warehouse, an increment ingests day `through` into that warehouse."""
    os.environ.update(_env(root))
    import dagster as dg

    from exptrack_pipeline.config import Settings
    from exptrack_pipeline.definitions import build_definitions
    from exptrack_pipeline.defs.dbt.assets import exptrack_dbt_models

    settings = Settings.from_env()
    core = dg.AssetSelection.assets(*exptrack_dbt_models.keys) | dg.AssetSelection.assets(*CORE_ASSETS)
    defs = dg.Definitions.merge(
        build_definitions(settings), dg.Definitions(jobs=[dg.define_asset_job("bench_analysis", selection=core)])
    )
    last = DATA_START + dt.timedelta(days=through - 1)
    start, last = (DATA_START, last - dt.timedelta(days=1)) if phase == "backfill" else (last, last)
    quiet = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
    out: dict = {"phase": phase}
    profiler = _profiler()
    with dg.DagsterInstance.ephemeral() as instance:
        began = time.perf_counter()
        ingest = defs.resolve_job_def("ingest_job").execute_in_process(
            run_config=quiet,
            instance=instance,
            tags={
                "dagster/asset_partition_range_start": start.isoformat(),
                "dagster/asset_partition_range_end": last.isoformat(),
            },
        )
        out["ingest_s"] = round(time.perf_counter() - began, 2)
        began = time.perf_counter()
        analysis = defs.resolve_job_def("bench_analysis").execute_in_process(run_config=quiet, instance=instance)
        out["analysis_s"] = round(time.perf_counter() - began, 2)
        out["ok"] = ingest.success and analysis.success
        out["steps"] = {**_step_seconds(instance, ingest.run_id), **_step_seconds(instance, analysis.run_id)}
        events = dbt_node_events(instance, analysis.run_id)
        out["dbt_nodes"] = events["nodes"]
        out["dbt_split"] = dbt_split(out["steps"].get("exptrack_dbt_models", 0.0), events)
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(root / f"{phase}-day{through}-{Path(WAREHOUSE_FILE[0]).stem}.prof")
    out["total_s"] = round(out["ingest_s"] + out["analysis_s"], 2)
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    out["cpu_s"] = round(own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime, 1)
    out["cpu_split_s"] = {  # this process (Dagster, ingestion, the Python assets) and its children (dbt)
        "dagster_process": round(own.ru_utime + own.ru_stime, 1),
        "subprocesses": round(children.ru_utime + children.ru_stime, 1),
    }
    out["warehouse_mb"] = round(Path(settings.warehouse).stat().st_size / 2**20, 1)
    out["days"] = [start.isoformat(), last.isoformat()]
    print("BENCH " + json.dumps(out))


def _profiler():
    """A running cProfile profiler when EXPTRACK_BENCH_PROFILE is set (where the Dagster process's CPU goes), else
    None."""
    if not os.environ.get("EXPTRACK_BENCH_PROFILE"):
        return None
    import cProfile

    profiler = cProfile.Profile(time.process_time)  # CPU time: the machine is shared, wall time waits on others
    profiler.enable()
    return profiler


# ---------------------------------------------------------------------------------------------- parent process


def _tree_rss(pid: int) -> tuple[int, int, int]:
    """Resident bytes of a process and all its descendants, of the largest single one, of the process itself
    (Linux /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
            rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    total, largest, stack = 0, 0, [pid]
    while stack:
        p = stack.pop()
        total += rss.get(p, 0)
        largest = max(largest, rss.get(p, 0))
        stack.extend(children.get(p, []))
    return total, largest, rss.get(pid, 0)


def cpu_probe() -> float:
    """Milliseconds of CPU a fixed single-threaded Python loop takes now: the machine's speed at this moment.

    A shared or burstable machine changes speed with time (one seen here ran the same 10M increment in 26 and 56
    CPU-s an hour apart, BENCHMARKS.md "Session of 2026-12-01 morning"); a phase's CPU seconds compare with another
    phase's only when the probes before and after them agree. Best of three runs of ~0.1 s each."""
    best = float("inf")
    for _ in range(3):
        began = time.process_time()
        sum(i * i for i in range(1_000_000))
        best = min(best, time.process_time() - began)
    return round(best * 1000, 1)


def run_child(phase: str, root: Path, through: int = N_DAYS, warehouse: str = "warehouse.duckdb") -> dict:
    args = ["--child", phase, "--through", str(through), "--warehouse", warehouse]
    probe_before = cpu_probe()
    proc = subprocess.Popen(
        [sys.executable, __file__, *args, "--root", str(root), "--memory-limit", MEMORY_LIMIT],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    peak = [0, 0, 0, 0]  # tree, largest process, the child itself (Dagster), its descendants (dbt) at the tree's peak
    load_before = os.getloadavg()[0]

    def sample() -> None:
        while proc.poll() is None:
            total, largest, own = _tree_rss(proc.pid)
            if total > peak[0]:
                peak[0], peak[2], peak[3] = total, own, total - own
            peak[1] = max(peak[1], largest)
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = proc.communicate()
    sampler.join()
    lines = [line for line in stdout.splitlines() if line.startswith("BENCH ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{phase} failed (exit {proc.returncode}):\n{stderr[-4000:]}\n{stdout[-2000:]}")
    result = json.loads(lines[-1][6:])
    result["peak_rss_mb"] = round(peak[0] / 2**20)
    result["peak_process_rss_mb"] = round(peak[1] / 2**20)
    result["peak_split_mb"] = {"dagster_process": round(peak[2] / 2**20), "subprocesses": round(peak[3] / 2**20)}
    result["load_avg"] = round((load_before + os.getloadavg()[0]) / 2, 1)
    result["cpu_probe_ms"] = [probe_before, cpu_probe()]  # the machine's speed before and after the phase
    return result


FLOOR_SQL = """
with assignments as (
    select distinct experiment_id, variant, user_id
    from read_parquet('{raw}/exposures/*/*.parquet')
),
metric_events as (
    select metric_id, event_name from (values {metric_events}) as m(metric_id, event_name)
)
select assignments.experiment_id, assignments.variant, metric_events.metric_id,
       count(*) as events, sum(coalesce(events.value, 1)) as amount
from read_parquet('{raw}/events/*/*.parquet') as events
inner join metric_events on events.event_name = metric_events.event_name
inner join assignments on events.user_id = assignments.user_id
group by all
"""


def floor_seconds(root: Path) -> float:
    """Best of two runs of the floor query, with the pipeline's memory limit and all cores."""
    import duckdb

    from exptrack_pipeline.config import load_registry
    from exptrack_pipeline.config.tables import registry_tables

    registry = load_registry(root / "experiments", root / "experiments" / "metrics.yaml")
    pairs = registry_tables(registry)["metric_events"][["metric_id", "event_name"]].drop_duplicates()
    values = ", ".join(f"('{m}', '{e}')" for m, e in pairs.itertuples(index=False))
    sql = FLOOR_SQL.format(raw=root / "raw", metric_events=values)
    con = duckdb.connect(config={"memory_limit": MEMORY_LIMIT, "threads": THREADS})
    times, cpu = [], []
    for _ in range(2):
        began, began_cpu = time.perf_counter(), time.process_time()
        con.execute(sql).fetchall()
        times.append(time.perf_counter() - began)
        cpu.append(time.process_time() - began_cpu)
    con.close()
    return round(min(times), 2), round(min(cpu), 2)


def bench_size(n_events: int, data_dir: Path, only: tuple[str, ...] = ()) -> dict:
    root = data_dir / label(n_events)
    info_file = root / "bench_data.json"
    info = json.loads(info_file.read_text()) if info_file.exists() else {}
    if info.get("events_requested") != n_events:
        print(f"[{label(n_events)}] generating ...", flush=True)
        info = generate(root, n_events)
    for stale in ("warehouse.duckdb", "warehouse.duckdb.wal", "warehouse-day10.duckdb", "warehouse-day10.duckdb.wal"):
        if not only or ("backfill_day10" if "day10" in stale else "backfill") in only:  # else: the phases reuse it
            (root / stale).unlink(missing_ok=True)
    result = {"events": n_events, "memory_limit": MEMORY_LIMIT, "data": info}
    saved = root / profile_name()
    if only and saved.exists():  # some phases again: the others' numbers stay
        result = {**json.loads(saved.read_text()), **result}
    phases = [
        ("backfill", "backfill", N_DAYS, "warehouse.duckdb"),
        ("increment", "increment", N_DAYS, "warehouse.duckdb"),
        ("empty", "increment", N_DAYS, "warehouse.duckdb"),  # the same day again: nothing new
        ("backfill_day10", "backfill", 10, "warehouse-day10.duckdb"),
        ("increment_day10", "increment", 10, "warehouse-day10.duckdb"),
    ]
    print(f"[{label(n_events)}] floor ...", flush=True)
    result["floor_s"], result["floor_cpu_s"] = floor_seconds(root)
    for key, phase, through, warehouse in phases:
        if only and key not in only:
            continue
        print(f"[{label(n_events)}] {key.replace('_', ' at ')} ...", flush=True)
        result[key] = run_child(phase, root, through, warehouse)
        # saved after every phase: a run stopped half-way still leaves its numbers (--from-profiles shows them)
        (root / profile_name()).write_text(json.dumps(result, indent=2) + "\n")
    for done in ("warehouse-day10.duckdb", "warehouse-day10.duckdb.wal"):  # disk: only the day-30 one is kept
        if not only or "increment_day10" in only:
            (root / done).unlink(missing_ok=True)
    if "backfill" in result and "increment" in result:
        print(f"[{label(n_events)}] {summary_line(result)}", flush=True)
    return result


def profile_name() -> str:
    return "profile.json" if MEMORY_LIMIT == DEFAULT_MEMORY_LIMIT else f"profile-mem{MEMORY_LIMIT}.json"


def summary_line(r: dict) -> str:
    b, i = r["backfill"], r["increment"]
    return (
        f"floor {r['floor_s']} s, backfill {b['total_s']} s ({b['total_s'] / r['floor_s']:.1f}x floor), "
        f"increment {i['total_s']} s ({i['total_s'] / b['total_s']:.2f} of backfill), "
        f"stats {b['steps'].get('experiment_results', float('nan'))} s, peak RSS "
        f"{max(b['peak_rss_mb'], i['peak_rss_mb'])} MB"
    )


PHASES = ("backfill", "increment", "empty", "backfill_day10", "increment_day10")
NAN = float("nan")


def _top_models(r: dict, k: int = 4, phase: str = "backfill") -> str:
    if phase not in r:
        return "–"
    nodes = r[phase]["dbt_nodes"]
    models = sorted(((s, n.split(".")[-1]) for n, s in nodes.items() if n.startswith("model.")), reverse=True)[:k]
    return ", ".join(f"{n} {s:.1f}" for s, n in models)


def _tests(r: dict, phase: str) -> str:
    """How many dbt data tests a phase ran and their summed time (a daily run leaves out the full-scan tests)."""
    if phase not in r:
        return "–"
    times = [t for n, t in r[phase]["dbt_nodes"].items() if n.startswith("test.")]
    return f"{len(times)} tests {sum(times):.1f} s"


def _split(r: dict, phase: str) -> str:
    """The dbt step of a phase: start-up, parse and Dagster around dbt / models / tests / between nodes (wall s),
    and the peak RSS of the Dagster process and of dbt at the tree's peak."""
    if phase not in r or "dagster_s" not in r[phase].get("dbt_split", {}):
        return "–"
    d, m = r[phase]["dbt_split"], r[phase].get("peak_split_mb", {})
    return (
        f"dbt step {d['step_s']:.0f} s = Dagster {d['dagster_s']:.1f} + dbt start-up/parse "
        f"{d['startup_parse_s']:.1f} + models {d['models_s']:.1f} + tests {d['tests_s']:.1f} + between nodes "
        f"{d['between_nodes_s']:.1f}; peak RSS "
        f"Dagster {m.get('dagster_process', NAN):,} MB + dbt {m.get('subprocesses', NAN):,} MB"
    )


def _cpu(r: dict, phase: str) -> str:
    """CPU-s of a phase's Dagster process (ingestion, Dagster, the Python assets) and of its subprocesses (dbt)."""
    split = r.get(phase, {}).get("cpu_split_s")
    if not split:
        return "–"
    return f"CPU {split['dagster_process']:.1f} Dagster process + {split['subprocesses']:.1f} dbt"


def _probes(r: dict) -> str:
    """The CPU probe (ms, before → after) of each phase that has one: equal probes mean comparable CPU seconds."""
    probes = [
        f"{p.replace('_', ' at ')} {r[p]['cpu_probe_ms'][0]:.0f} → {r[p]['cpu_probe_ms'][1]:.0f}"
        for p in PHASES
        if p in r and "cpu_probe_ms" in r[p]
    ]
    return "; machine speed (CPU probe, ms before → after): " + ", ".join(probes) if probes else ""


def _seconds(phase: dict | None) -> str:
    """`total s (CPU-s; ingest + dbt & results)` of a phase, – when it did not run."""
    if phase is None:
        return "–"
    return (
        f"{phase['total_s']:.0f} s ({phase.get('cpu_s', NAN):.0f} CPU-s; {phase['ingest_s']:.0f} + "
        f"{phase['analysis_s']:.0f} s)"
    )


def _row(r: dict) -> str:
    b, i = r["backfill"], r.get("increment") or {}
    floor_cpu = r.get("floor_cpu_s", NAN)
    limit = r.get("memory_limit", DEFAULT_MEMORY_LIMIT)
    name = label(r["events"]) + ("" if limit == DEFAULT_MEMORY_LIMIT else f", dbt memory_limit {limit}")
    name += f", {r['note']}" if r.get("note") else ""  # e.g. a saved profile of an earlier state of the code
    ratio = i.get("total_s", NAN) / b["total_s"]
    cpu_ratio = i.get("cpu_s", NAN) / b.get("cpu_s", NAN)
    peak = max(r[p]["peak_rss_mb"] for p in PHASES if p in r)
    loads = " / ".join(str(r[p].get("load_avg", NAN)) for p in PHASES if p in r)
    return (
        f"| {name} ({r['data']['event_rows']:,} rows) | {r['floor_s']:.1f} s ({floor_cpu:.0f} CPU-s) "
        f"| {_seconds(b)} | {b['total_s'] / r['floor_s']:.0f}x ({b.get('cpu_s', NAN) / floor_cpu:.0f}x CPU) "
        f"| {_seconds(r.get('increment'))} | {_seconds(r.get('empty'))} | {ratio:.2f} ({cpu_ratio:.2f} CPU) "
        f"| {_seconds(r.get('increment_day10'))} | {b['steps'].get('experiment_results', NAN):.1f} s "
        f"| {peak:,} MB | {loads} |"
    )


def table(results: list[dict]) -> str:
    head = (
        "| events | floor query | full backfill (29 days; ingest + dbt & results) | backfill / floor "
        "| daily increment (day 30) | empty increment (no new day) | increment / backfill | increment at day 10 "
        "| stats step | peak RSS | load avg (backfill / increment / empty / day-10 backfill / day-10 increment) |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    rows = [_row(r) for r in results]
    slowest = "\n".join(
        f"- {label(r['events'])} ({r.get('memory_limit', DEFAULT_MEMORY_LIMIT)}"
        f"{', ' + r['note'] if r.get('note') else ''}): slowest dbt models (s) "
        f"in the backfill: {_top_models(r)}; in the increment: {_top_models(r, phase='increment')}; "
        f"at day 10: {_top_models(r, phase='increment_day10')}; dbt data tests: backfill {_tests(r, 'backfill')}, "
        f"increment {_tests(r, 'increment')}; backfill {_split(r, 'backfill')}; increment {_split(r, 'increment')}; "
        f"empty increment {_split(r, 'empty')}, {_cpu(r, 'empty')}; increment {_cpu(r, 'increment')}{_probes(r)}"
        for r in results
    )
    return head + "\n".join(rows) + "\n\n" + slowest + "\n"


def write_table(path: Path, results: list[dict]) -> None:
    """Replace the generated block between the bench markers (append one when the file has none)."""
    stamp = (
        f"_Generated by `bench/run_bench.py` on {dt.date.today().isoformat()}, {THREADS} cores; DuckDB "
        f"memory_limit {DEFAULT_MEMORY_LIMIT} unless noted (EXPTRACK_DUCKDB_MEMORY_LIMIT: dbt and ingestion)._\n\n"
    )
    block = f"{MARK_START}\n{stamp}{table(results)}{MARK_END}"
    text = path.read_text() if path.exists() else ""
    if MARK_START in text and MARK_END in text:
        text = re.sub(re.escape(MARK_START) + r".*?" + re.escape(MARK_END), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip() + ("\n\n" if text else "") + block + "\n"
    path.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark the exptrack pipeline.")
    parser.add_argument("--events", nargs="+", type=parse_count, default=[1_000_000, 10_000_000])
    parser.add_argument("--data-dir", type=Path, default=REPO / "data" / "bench")
    parser.add_argument(
        "--write", type=Path, help="replace the generated table in this markdown file (e.g. BENCHMARKS.md)"
    )
    parser.add_argument(
        "--from-profiles", action="store_true", help="rebuild the table from the saved profile*.json files only"
    )
    parser.add_argument(
        "--memory-limit",
        default=DEFAULT_MEMORY_LIMIT,
        help="DuckDB memory_limit (EXPTRACK_DUCKDB_MEMORY_LIMIT: dbt, ingestion, the Python assets) and the floor "
        "query's",
    )
    parser.add_argument(
        "--phases", nargs="+", choices=PHASES, default=(), help="run only these phases (default: all of them)"
    )
    parser.add_argument("--child", choices=("backfill", "increment"), help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--through", type=int, default=N_DAYS, help=argparse.SUPPRESS)
    parser.add_argument("--warehouse", default="warehouse.duckdb", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    global MEMORY_LIMIT
    MEMORY_LIMIT = args.memory_limit
    if args.child:
        WAREHOUSE_FILE[0] = args.warehouse
        child(args.child, args.root, args.through)
        return 0
    if args.from_profiles:
        results = []
        for n in args.events:
            for path in sorted((args.data_dir / label(n)).glob("profile*.json")):
                result = json.loads(path.read_text())
                result.setdefault(
                    "memory_limit",
                    path.stem.removeprefix("profile-mem") if "-mem" in path.stem else DEFAULT_MEMORY_LIMIT,
                )
                results.append(result)
    else:
        results = [bench_size(n, args.data_dir, tuple(args.phases)) for n in args.events]
    print(table(results))
    if args.write:
        write_table(args.write, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
