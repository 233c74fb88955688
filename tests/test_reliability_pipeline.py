"""Bad input, reruns and late data through the whole pipeline (real Dagster runs, real dbt on a real DuckDB file).

A small hand-made landing zone exercises what a tracker must not get wrong silently: exposures of unknown
experiments and variants, before the start and after the end, users in two variants, events before any exposure,
duplicate event ids on the same and on different days, an experiment with no traffic, a variant with no users, a
metric nobody converts on and a metric with one constant value. The expected numbers below are counted from the
design of that landing zone (the DESIGN dicts), not from the pipeline.

One module-scoped fixture runs the pipeline four times (~35 s each, mostly fixed overhead):
  1. the whole range;  2. one partition again;  3. the whole range again;  4. one old day with a late file added.
After every run it takes an order-independent content checksum of every table in the warehouse.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from pipeline_support import make_settings

pytestmark = pytest.mark.background  # a second pytest process started at collection (background_tests.py)

START, END = dt.date(2026, 10, 1), dt.date(2026, 10, 7)
RERUN_DAY = dt.date(2026, 10, 4)
LATE_DAY = dt.date(2026, 10, 3)

METRICS = {
    "metrics": [
        {
            "id": "purchase_conversion",
            "name": "Purchase conversion",
            "kind": "conversion",
            "events": ["purchase"],
            "window_days": 7,
        },
        {
            "id": "purchases_per_user",
            "name": "Purchases per user",
            "kind": "mean",
            "events": ["purchase"],
            "aggregation": "count",
            "window_days": 7,
        },
        {
            "id": "never_conversion",
            "name": "Never happens",
            "kind": "conversion",
            "events": ["never_happens"],
            "window_days": 7,
        },
        {
            "id": "ping_value",
            "name": "Constant ping value",
            "kind": "mean",
            "events": ["ping"],
            "aggregation": "sum",
            "window_days": 7,
        },
    ]
}


def experiment(exp_id: str, start: str, end: str, secondary: list[str]) -> dict:
    return {
        "id": exp_id,
        "name": exp_id.replace("_", " "),
        "hypothesis": "test",
        "owner": "@test",
        "slack_channel": "#test",
        "status": "running",
        "surface": "test",
        "start_date": dt.date.fromisoformat(start),
        "end_date": dt.date.fromisoformat(end),
        "variants": [{"name": "control", "weight": 0.5, "is_control": True}, {"name": "treatment", "weight": 0.5}],
        "primary_metric": "purchase_conversion",
        "secondary_metrics": secondary,
        "success_criteria": {"alpha": 0.05, "power": 0.8, "minimum_detectable_effect": 0.1},
    }


EXPERIMENTS = [
    experiment("exp_main", "2026-10-02", "2026-10-04", ["purchases_per_user", "never_conversion", "ping_value"]),
    experiment("exp_idle", "2026-10-02", "2026-10-05", []),  # no traffic at all
    experiment("exp_lopsided", "2026-10-02", "2026-10-05", []),  # every user lands in control
]

# ------------------------------------------------------------------------------------------------ the design
MAIN_USERS = [f"m{i:03d}" for i in range(40)]
VARIANT = {u: "control" if i % 2 == 0 else "treatment" for i, u in enumerate(MAIN_USERS)}
EXPOSED_ON = {u: dt.date(2026, 10, 2) if i < 20 else dt.date(2026, 10, 3) for i, u in enumerate(MAIN_USERS)}
CONVERTERS = {"control": ["m000", "m002"], "treatment": ["m001", "m003", "m005", "m007"]}
LATE_CONVERTERS = ["m009", "m011"]  # treatment users whose purchases arrive in a late file for LATE_DAY
LOPSIDED_USERS = [f"l{i:02d}" for i in range(10)]
DESIGN = {
    "excluded_rows": {"unknown_experiment": 2, "unknown_variant": 3, "after_end": 2, "before_start": 1},
    "multi_variant_users": 1,
}


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute)


def exposure_rows() -> list[dict]:
    rows = [
        {"user_id": u, "experiment_id": "exp_main", "variant": VARIANT[u], "exposed_at": at(EXPOSED_ON[u], 12)}
        for u in MAIN_USERS
    ]
    rows.append(
        {
            "user_id": "m000",
            "experiment_id": "exp_main",
            "variant": "control",
            "exposed_at": at(dt.date(2026, 10, 3), 9),
        }
    )  # repeat
    rows += [
        {
            "user_id": "m_multi",
            "experiment_id": "exp_main",
            "variant": "control",
            "exposed_at": at(dt.date(2026, 10, 2), 8),
        },
        {
            "user_id": "m_multi",
            "experiment_id": "exp_main",
            "variant": "treatment",
            "exposed_at": at(dt.date(2026, 10, 3), 8),
        },
    ]
    rows += [
        {
            "user_id": f"g{i}",
            "experiment_id": "ghost_exp",
            "variant": "control",
            "exposed_at": at(dt.date(2026, 10, 2), 10),
        }
        for i in range(2)
    ]
    rows += [
        {
            "user_id": f"uv{i}",
            "experiment_id": "exp_main",
            "variant": "treatment_b",
            "exposed_at": at(dt.date(2026, 10, 3), 10),
        }
        for i in range(3)
    ]
    rows += [
        {
            "user_id": f"late{i}",
            "experiment_id": "exp_main",
            "variant": "control",
            "exposed_at": at(dt.date(2026, 10, 6), 10),
        }
        for i in range(2)
    ]
    rows += [
        {
            "user_id": "early",
            "experiment_id": "exp_main",
            "variant": "control",
            "exposed_at": at(dt.date(2026, 10, 1), 10),
        }
    ]
    rows += [
        {
            "user_id": u,
            "experiment_id": "exp_lopsided",
            "variant": "control",
            "exposed_at": at(dt.date(2026, 10, 3), 14),
        }
        for u in LOPSIDED_USERS
    ]
    return rows


def event_rows() -> list[dict]:
    rows = []
    for _variant, users in CONVERTERS.items():
        for u in users:
            rows.append(
                {
                    "event_id": f"p_{u}",
                    "user_id": u,
                    "event_name": "purchase",
                    "occurred_at": at(EXPOSED_ON[u] + dt.timedelta(days=1), 13),
                }
            )
    rows.append(dict(rows[0]))  # m000's purchase twice in the same day: removed at load
    resent = dict(rows[1])  # m002's purchase re-sent the next day: removed in int_events_deduplicated
    resent["occurred_at"] += dt.timedelta(days=1)
    resent["_folder"] = resent["occurred_at"].date()
    rows.append(resent)
    # purchases before the user's exposure never count (m010 the day before, m012 an hour before)
    rows.append(
        {
            "event_id": "pre_m010",
            "user_id": "m010",
            "event_name": "purchase",
            "occurred_at": at(dt.date(2026, 10, 1), 9),
        }
    )
    rows.append(
        {
            "event_id": "pre_m012",
            "user_id": "m012",
            "event_name": "purchase",
            "occurred_at": at(dt.date(2026, 10, 2), 11),
        }
    )
    # every analysed exp_main user pings once after exposure with the same value
    rows += [
        {
            "event_id": f"ping_{u}",
            "user_id": u,
            "event_name": "ping",
            "occurred_at": at(EXPOSED_ON[u], 18),
            "value": 5.0,
        }
        for u in MAIN_USERS
    ]
    rows += [
        {"event_id": f"p_{u}", "user_id": u, "event_name": "purchase", "occurred_at": at(dt.date(2026, 10, 4), 9)}
        for u in LOPSIDED_USERS[:2]
    ]
    return rows


def write_landing(raw: Path) -> None:
    """Exposures as CSV with mixed zone styles on even days, parquet on odd days; events as JSON lines."""
    by_day: dict[tuple[str, dt.date], list[dict]] = {}
    for row in exposure_rows():
        by_day.setdefault(("exposures", row["exposed_at"].date()), []).append(row)
    for row in event_rows():
        by_day.setdefault(("events", row.pop("_folder", row["occurred_at"].date())), []).append(row)
    for (source, day), rows in by_day.items():
        folder = raw / source / f"date={day.isoformat()}"
        folder.mkdir(parents=True, exist_ok=True)
        if source == "exposures" and day.day % 2 == 1:
            table = pa.Table.from_pylist([{**r, "platform": "ios"} for r in rows])
            pq.write_table(table, folder / "part-0.parquet")
        elif source == "exposures":
            lines = ["user_id,experiment_id,variant,exposed_at,platform"]
            for i, r in enumerate(rows):  # the same instants written with an offset on every other row
                ts = (
                    (r["exposed_at"] + dt.timedelta(hours=2)).isoformat() + "+02:00"
                    if i % 2
                    else r["exposed_at"].isoformat() + "Z"
                )
                lines.append(f"{r['user_id']},{r['experiment_id']},{r['variant']},{ts},web")
            (folder / "part-0.csv").write_text("\n".join(lines) + "\n")
        else:
            text = "".join(json.dumps({**r, "occurred_at": r["occurred_at"].isoformat()}) + "\n" for r in rows)
            (folder / "part-0.jsonl").write_text(text)


def write_late_file(raw: Path) -> None:
    rows = [
        {"event_id": f"late_{u}", "user_id": u, "event_name": "purchase", "occurred_at": at(LATE_DAY, 20).isoformat()}
        for u in LATE_CONVERTERS
    ]
    (raw / "events" / f"date={LATE_DAY.isoformat()}" / "late-delivery.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in rows)
    )


# -------------------------------------------------------------------------------------------- checksums

AUDIT_COLUMNS = {("monitoring", "health_findings", "evaluated_at")}
"""Columns that record when a step ran (wall clock), by design different on every run: left out of the checksum."""
RUN_TABLES = {
    ("main", name)
    for name in (
        "int_refresh_scope",
        "int_assignment_changes",
        "int_refresh_replaced_units",
        "int_refresh_units",
        "int_refresh_metric_dates",
        "int_refresh_analysis_dates",
        "int_refresh_exposure_experiments",
        "int_refresh_exposure_units",
        "int_refresh_replaced_exposure_units",
        "int_refresh_value_units",
    )
}
"""What the last incremental run had to rebuild (docs/incremental.md): by design empty after re-running unchanged
inputs, so left out; every table they steer is compared."""


def table_checksums(warehouse: Path) -> dict[str, tuple]:
    """Row count and an order-independent hash of every table's content (doubles rounded to 9 significant digits,
    so that a different floating-point summation order of a parallel aggregate does not count as a change)."""
    out = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() where not temporary and database_name = "
            "current_database() order by all"
        ).fetchall()
        for schema, table in tables:
            if (schema, table) in RUN_TABLES:
                continue
            columns = con.execute(
                "select column_name, data_type from duckdb_columns() where schema_name = ? and table_name = ? "
                "and database_name = current_database() order by column_index",
                [schema, table],
            ).fetchall()
            exprs = []
            for name, dtype in columns:
                if (schema, table, name) in AUDIT_COLUMNS:
                    continue
                col = '"' + name.replace('"', '""') + '"'
                if dtype in ("DOUBLE", "FLOAT"):
                    col = (
                        f"case when {col} = 0 or not isfinite({col}) then {col} else round({col}, 8 - "
                        f"cast(floor(log10(abs({col}))) as integer)) end"
                    )
                exprs.append(col)
            row_hash = f"hash({', '.join(exprs)})" if exprs else "0"
            n, digest = con.execute(
                f'select count(*), coalesce(sum({row_hash}::hugeint), 0) from "{schema}"."{table}"'
            ).fetchone()
            out[f"{schema}.{table}"] = (n, int(digest))
    return out


# ---------------------------------------------------------------------------------------------- the runs


@dataclass
class Stage:
    checksums: dict[str, tuple]
    results: list[dict]


@dataclass
class Runs:
    settings: object
    stages: dict[str, Stage] = field(default_factory=dict)

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        with duckdb.connect(str(self.settings.warehouse), read_only=True) as con:
            return con.execute(sql, params or []).fetchall()


def _results(warehouse: Path) -> list[dict]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        frame = con.execute(
            "select * from main.experiment_results r where analysis_date = "
            "(select max(analysis_date) from main.experiment_results x where x.experiment_id = r.experiment_id)"
        ).df()
    return frame.to_dict("records")


@pytest.fixture(scope="module")
def runs(tmp_path_factory, dbt_manifest) -> Runs:
    from dagster import DagsterInstance

    from exptrack_pipeline.cli import run_pipeline

    root = tmp_path_factory.mktemp("reliability")
    experiments = root / "experiments"
    experiments.mkdir()
    (experiments / "metrics.yaml").write_text(yaml.safe_dump(METRICS, sort_keys=False))
    for design in EXPERIMENTS:
        (experiments / f"{design['id']}.yaml").write_text(yaml.safe_dump(design, sort_keys=False))
    settings = make_settings(root, experiments_dir=experiments)
    write_landing(settings.raw_dir)
    out = Runs(settings=settings)

    def stage(name: str, start: dt.date, end: dt.date) -> None:
        with DagsterInstance.ephemeral() as instance:
            run_pipeline(start, end, settings, instance=instance)
        out.stages[name] = Stage(checksums=table_checksums(settings.warehouse), results=_results(settings.warehouse))

    stage("first", START, END)
    out.first_exclusions = out.query(
        "select exclusion_reason, count(*) from main.int_exposures_classified where exclusion_reason is not "
        "null group by 1"
    )
    stage("rerun_day", RERUN_DAY, RERUN_DAY)
    stage("rerun_range", START, END)
    write_late_file(settings.raw_dir)
    stage("late", LATE_DAY, LATE_DAY)
    return out


def result(stage: Stage, experiment_id: str, metric_id: str) -> dict:
    [row] = [r for r in stage.results if r["experiment_id"] == experiment_id and r["metric_id"] == metric_id]
    return row


# ---------------------------------------------------------------------------------------------- the tests


def test_bad_exposures_are_excluded_in_dbt_and_counted(runs):
    assert dict(runs.first_exclusions) == DESIGN["excluded_rows"]
    quality = {
        r[0]: r[1:]
        for r in runs.query(
            "select experiment_id, exposed_units, multi_exposed_units, analysed_units, unknown_variant_rows, "
            "before_start_rows, "
            "after_end_rows from main.dim_experiment_exposure_quality"
        )
    }
    valid_main_users = len(MAIN_USERS) + DESIGN["multi_variant_users"]
    assert quality["exp_main"] == (valid_main_users, 1, len(MAIN_USERS), 3, 1, 2)
    assert quality["exp_idle"] == (0, 0, 0, 0, 0, 0)
    # nobody excluded is analysed: not the multi-variant user, not the unknown-variant, early or late users
    analysed = {r[0] for r in runs.query("select user_id from main.int_assignments where experiment_id = 'exp_main'")}
    assert analysed == set(MAIN_USERS)


def test_events_before_exposure_and_duplicate_ids_do_not_count(runs):
    first = runs.stages["first"]
    conversion = result(first, "exp_main", "purchase_conversion")
    per_arm = len(MAIN_USERS) // 2
    assert (conversion["n_control"], conversion["n_variant"]) == (per_arm, per_arm)
    # m010 and m012 bought before exposure: not converters
    assert conversion["mean_control"] == pytest.approx(len(CONVERTERS["control"]) / per_arm)
    assert conversion["mean_variant"] == pytest.approx(len(CONVERTERS["treatment"]) / per_arm)
    # m000's same-day copy and m002's next-day copy are not counted twice
    purchases = result(first, "exp_main", "purchases_per_user")
    assert purchases["mean_control"] == pytest.approx(len(CONVERTERS["control"]) / per_arm)
    assert runs.query("select count(*) from main.int_events_deduplicated where event_id = 'p_m002'") == [(1,)]


def test_zero_conversions_and_a_constant_metric_get_a_reason_not_a_number(runs):
    first = runs.stages["first"]
    never = result(first, "exp_main", "never_conversion")
    assert never["mean_control"] == 0 and never["mean_variant"] == 0
    assert "zero variance" in never["reason"] and not never["is_significant"]
    ping = result(first, "exp_main", "ping_value")
    assert ping["mean_control"] == pytest.approx(5.0) and ping["mean_variant"] == pytest.approx(5.0)
    assert "zero variance" in ping["reason"] and not ping["is_significant"]


def test_an_experiment_without_traffic_and_a_variant_without_users(runs):
    first = runs.stages["first"]
    idle = [r for r in first.results if r["experiment_id"] == "exp_idle"]
    assert idle and all(r["n_control"] == 0 and r["n_variant"] == 0 and r["reason"] for r in idle)
    lopsided = result(first, "exp_lopsided", "purchase_conversion")
    assert lopsided["n_control"] == len(LOPSIDED_USERS) and lopsided["n_variant"] == 0
    assert "variant has fewer than 2 units" in lopsided["reason"] and not lopsided["is_significant"]
    units = dict(
        runs.query(
            "select variant, max(cumulative_units) from main.fct_daily_exposures where experiment_id = "
            "'exp_lopsided' group by 1"
        )
    )
    assert units == {"control": len(LOPSIDED_USERS), "treatment": 0}


def test_rerunning_one_partition_leaves_every_table_identical(runs):
    first, again = runs.stages["first"].checksums, runs.stages["rerun_day"].checksums
    assert {
        "raw.events",
        "raw.quarantine",
        "main.int_events_deduplicated",
        "main.fct_variant_metric_stats",
        "main.experiment_results",
    } <= set(first)
    changed = {t: (first.get(t), again.get(t)) for t in set(first) | set(again) if first.get(t) != again.get(t)}
    assert not changed


def test_rerunning_the_whole_range_leaves_every_table_identical(runs):
    first, again = runs.stages["first"].checksums, runs.stages["rerun_range"].checksums
    changed = {t: (first.get(t), again.get(t)) for t in set(first) | set(again) if first.get(t) != again.get(t)}
    assert not changed


def test_a_late_file_for_an_old_day_is_picked_up_by_rerunning_that_day(runs):
    before, after = runs.stages["rerun_range"], runs.stages["late"]
    per_arm = len(MAIN_USERS) // 2
    conversion = result(after, "exp_main", "purchase_conversion")
    assert conversion["mean_variant"] == pytest.approx((len(CONVERTERS["treatment"]) + len(LATE_CONVERTERS)) / per_arm)
    assert conversion["mean_control"] == pytest.approx(
        result(before, "exp_main", "purchase_conversion")["mean_control"]
    )
    log = runs.query(
        "select files_read, rows_loaded from raw.ingestion_log where source = 'events' and partition_date = ?",
        [LATE_DAY],
    )
    assert log[0][0] == 2
    changed = {t for t in before.checksums if before.checksums[t] != after.checksums.get(t)}
    assert {"raw.events", "raw.ingestion_log", "main.int_events_deduplicated", "main.experiment_results"} <= changed
    assert "raw.exposures" not in changed and "main.int_assignments" not in changed


def test_a_registry_error_stops_the_pipeline_before_any_run(tmp_path):
    from exptrack_pipeline.cli import run_pipeline
    from exptrack_pipeline.config import RegistryError

    experiments = tmp_path / "experiments"
    experiments.mkdir()
    (experiments / "metrics.yaml").write_text(yaml.safe_dump(METRICS))
    (experiments / "broken.yaml").write_text("id: broken\nvariants: [\n")
    settings = make_settings(tmp_path, experiments_dir=experiments)
    with pytest.raises(RegistryError, match=r"broken\.yaml"):
        run_pipeline(START, END, settings)
    assert not settings.warehouse.exists()
