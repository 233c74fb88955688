"""Fast synthetic landing zone for benchmarks: 20 experiments, 1M users, 30 days, any number of events.

    .venv/bin/python bench/generate_bench.py --events 10000000 --out data/bench/10M

Writes <out>/raw/{exposures,events}/date=YYYY-MM-DD/part-0.parquet and <out>/experiments/ (20 experiment
YAMLs plus a copy of the demo metric catalog). Everything is computed inside DuckDB from hashes of the row
number (vectorised, parallel, deterministic for a seed): ~10 s per 10M events on 2 cores. The world has no
true effects; it exists to load the pipeline with realistic shapes: exposures spread over each experiment's
window, repeat exposures, a few users in two variants, 0.3% duplicated event ids (a third of them re-sent in
the next day's file), metric and non-metric event names, numeric values where metrics sum them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
import time
from pathlib import Path

import duckdb
import yaml

REPO = Path(__file__).resolve().parents[1]
DATA_START = dt.date(2026, 10, 1)
N_DAYS = 30
N_USERS = 1_000_000
N_EXPERIMENTS = 20
EXPOSED_SHARE = 0.10  # of all users, per experiment

# (event name, share of events, value expression or null); page_view feeds no metric
EVENT_MIX = (
    ("session_start", 0.24, None),
    ("session_end", 0.22, "1 + (h2 % 1800)"),
    ("page_view", 0.20, None),
    ("card_impression", 0.15, None),
    ("card_click", 0.06, None),
    ("app_error", 0.04, None),
    ("signup_completed", 0.04, None),
    ("saved_search_created", 0.03, None),
    ("purchase", 0.02, "round(5 + (h2 % 50000) / 100.0, 2)"),
)

TEMPLATES = (
    ("signup_conversion", ["d1_retention", "d7_retention", "session_duration"], ["error_rate"]),
    ("card_ctr", ["saved_search_adoption", "seconds_per_session"], ["error_rate"]),
    ("purchase_conversion", ["revenue_per_user"], ["error_rate"]),
)


def experiment_designs() -> list[dict]:
    designs = []
    for k in range(N_EXPERIMENTS):
        primary, secondary, guardrails = TEMPLATES[k % len(TEMPLATES)]
        n_variants = 4 if k % 5 == 0 else 2
        names = ["control"] + [f"treatment_{i}" for i in range(1, n_variants)]
        start = DATA_START + dt.timedelta(days=k % 12)
        designs.append(
            {
                "id": f"bench_exp_{k:02d}",
                "name": f"Benchmark experiment {k}",
                "hypothesis": "Synthetic benchmark load; no true effect.",
                "owner": "@bench",
                "slack_channel": "#bench",
                "status": "running",
                "surface": "bench",
                "start_date": start,
                "end_date": start + dt.timedelta(days=13),
                "variants": [
                    {"name": n, "weight": 1.0 / n_variants, "is_control": i == 0} for i, n in enumerate(names)
                ],
                "primary_metric": primary,
                "secondary_metrics": secondary,
                "guardrail_metrics": [{"metric": g, "max_relative_harm": 0.1} for g in guardrails],
                "success_criteria": {"alpha": 0.05, "power": 0.8, "minimum_detectable_effect": 0.1},
            }
        )
    return designs


def write_registry(out: Path, designs: list[dict]) -> Path:
    experiments = out / "experiments"
    if experiments.exists():
        shutil.rmtree(experiments)
    experiments.mkdir(parents=True)
    shutil.copy(REPO / "experiments" / "metrics.yaml", experiments / "metrics.yaml")
    for design in designs:
        (experiments / f"{design['id']}.yaml").write_text(yaml.safe_dump(design, sort_keys=False))
    return experiments


def _uniform(expr: str) -> str:
    """A deterministic uniform [0, 1) from a hash expression."""
    return f"(({expr}) % 1000003) / 1000003.0"


def write_exposures(con: duckdb.DuckDBPyConnection, raw: Path, designs: list[dict], seed: int) -> int:
    rows = []
    for k, d in enumerate(designs):
        n_variants = len(d["variants"])
        start = d["start_date"].isoformat()
        days = (d["end_date"] - d["start_date"]).days + 1
        rows.append(
            f"""
            select '{d["id"]}' as experiment_id, u, {k} as k,
                   hash(u, {k}, {seed}, 1) % {n_variants} as v, {n_variants} as nv,
                   timestamp '{start}' + to_microseconds(cast({_uniform(f"hash(u, {k}, {seed}, 2)")} * {days} * 86400e6
                       as bigint)) as t
            from range({N_USERS}) as r(u)
            where hash(u, {k}, {seed}) % 1000 < {int(EXPOSED_SHARE * 1000)}
            """
        )
    exposed = " union all ".join(rows)
    con.execute(f"create or replace temp table bench_exposed as {exposed}")
    # every exposure, a repeat exposure a few hours later for 20%, and the other variant for 0.2% (multi-variant users)
    con.execute(
        """
        create or replace temp table bench_exposures as
        select experiment_id, u, v, t from bench_exposed
        union all
        select experiment_id, u, v, t + interval 7 hour from bench_exposed where hash(u, k, 3) % 100 < 20
        union all
        select experiment_id, u, (v + 1) % nv, t + interval 1 day from bench_exposed where hash(u, k, 4) % 1000 < 2
        """
    )
    names = ["'ios'", "'android'", "'web'"]
    for day in range(N_DAYS):
        date = DATA_START + dt.timedelta(days=day)
        folder = raw / "exposures" / f"date={date.isoformat()}"
        folder.mkdir(parents=True, exist_ok=True)
        con.execute(
            f"""
            copy (
                select 'u' || lpad(cast(u as varchar), 7, '0') as user_id, experiment_id,
                       case when v = 0 then 'control' else 'treatment_' || cast(v as varchar) end as variant,
                       t as exposed_at,
                       [{", ".join(names)}][cast(1 + hash(u, 9) % 3 as bigint)] as platform
                from bench_exposures where cast(t as date) = date '{date.isoformat()}'
                order by t
            ) to '{folder / "part-0.parquet"}' (format parquet)
            """
        )
    return con.execute("select count(*) from bench_exposures").fetchone()[0]


def _event_name_and_value(seed: int) -> tuple[str, str]:
    cases, values = [], []
    bound = 0.0
    for name, share, value in EVENT_MIX:
        bound += share
        cases.append(f"when p < {bound:.6f} then '{name}'")
        if value:
            values.append(f"when p < {bound:.6f} and p >= {bound - share:.6f} then {value}")
    name_sql = "case " + " ".join(cases) + f" else '{EVENT_MIX[-1][0]}' end"
    value_sql = "case " + " ".join(values) + " end"
    return name_sql, value_sql


def write_events(con: duckdb.DuckDBPyConnection, raw: Path, n_events: int, seed: int) -> tuple[int, int]:
    per_day = n_events // N_DAYS
    name_sql, value_sql = _event_name_and_value(seed)
    written = duplicates = 0
    for day in range(N_DAYS):
        date = DATA_START + dt.timedelta(days=day)
        first = day * per_day
        count = per_day if day < N_DAYS - 1 else n_events - first
        folder = raw / "events" / f"date={date.isoformat()}"
        folder.mkdir(parents=True, exist_ok=True)
        # 0.2% same-day duplicates; 0.1% of the previous day's rows re-sent today
        previous = max(first - per_day, 0)
        resend = (
            ""
            if day == 0
            else f"""
            union all
            select * from base_rows(({previous}), ({per_day}), {day - 1}) where hash(i, {seed}, 6) % 1000 < 1"""
        )
        sql = f"""
            with base as (select * from base_rows({first}, {count}, {day}))
            select event_id, user_id, event_name, occurred_at, value, session_id from (
                select * from base
                union all
                select * from base where hash(i, {seed}, 5) % 1000 < 2
                {resend}
            )
            order by occurred_at
        """
        con.execute(
            f"""
            create or replace temp macro base_rows(first_row, n, day_index) as table
            select i,
                   'e' || cast(i as varchar) as event_id,
                   'u' || lpad(cast(hash(i, {seed}, 1) % {N_USERS} as varchar), 7, '0') as user_id,
                   {name_sql} as event_name,
                   timestamp '{DATA_START.isoformat()}' + to_microseconds(cast((day_index +
                       {_uniform(f"hash(i, {seed}, 3)")}) * 86400e6 as bigint)) as occurred_at,
                   cast({value_sql} as double) as value,
                   's' || cast(hash(i, {seed}, 1) % {N_USERS} as varchar) || '-' || cast(day_index as varchar) as
                       session_id
            from (select i, {_uniform(f"hash(i, {seed}, 2)")} as p, hash(i, {seed}, 4) as h2 from range(first_row,
                first_row + n) as r(i))
            """
        )
        con.execute(f"copy ({sql}) to '{folder / 'part-0.parquet'}' (format parquet)")
        rows = con.execute(f"select count(*) from read_parquet('{folder / 'part-0.parquet'}')").fetchone()[0]
        written += rows
        duplicates += rows - count
    return written, duplicates


def generate(out: Path, n_events: int, seed: int = 1) -> dict:
    out = Path(out)
    raw = out / "raw"
    if raw.exists():
        shutil.rmtree(raw)
    started = time.perf_counter()
    designs = experiment_designs()
    write_registry(out, designs)
    con = duckdb.connect(config={"memory_limit": "8GB"})
    con.execute("set TimeZone = 'UTC'")
    exposures = write_exposures(con, raw, designs, seed)
    events, duplicates = write_events(con, raw, n_events, seed)
    con.close()
    info = {
        "events_requested": n_events,
        "event_rows": events,
        "duplicate_event_rows": duplicates,
        "exposure_rows": exposures,
        "users": N_USERS,
        "experiments": N_EXPERIMENTS,
        "days": N_DAYS,
        "data_start": DATA_START.isoformat(),
        "data_end": (DATA_START + dt.timedelta(days=N_DAYS - 1)).isoformat(),
        "seed": seed,
        "seconds": round(time.perf_counter() - started, 1),
    }
    (out / "bench_data.json").write_text(json.dumps(info, indent=2) + "\n")
    return info


def parse_count(text: str) -> int:
    text = text.strip().upper()
    factor = {"K": 1_000, "M": 1_000_000, "G": 1_000_000_000}.get(text[-1], 1)
    return int(float(text[:-1] if factor > 1 else text) * factor)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=parse_count, default=1_000_000, help="event rows, e.g. 1M, 10M, 100M")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    print(json.dumps(generate(args.out, args.events, args.seed), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
