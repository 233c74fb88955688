"""The pipeline runs of the source tests, run in a background process started at collection (background_runs.py):

- `e2e` (tests/test_sources_e2e.py): the same simulated experiments sent through each tool's own client (to a local
  capture server that writes the tool's export layout), through Segment's warehouse tables and natively, in one
  landing zone and one DuckDB warehouse; `sent.json` holds how many records each copy sent.
- `in_place` (tests/test_sources_in_place_pipeline.py): warehouse tables (Segment's sync, the native contract's
  tables) read in place by the whole pipeline on DuckDB (`duck/warehouse.duckdb`) and on the session's PostgreSQL
  server (database `in_place_run`).

`python tests/sources_runs.py e2e|in_place ROOT` runs one (the EXPTRACK_PG_* variables name the server for
in_place); the test modules declare them as BACKGROUND_RUNS and read what the run left in ROOT.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import json
import os
import shutil
import sys
from pathlib import Path

import duckdb
import pandas as pd
import yaml
from background_runs import BackgroundProcess, BackgroundRun, Shared, python_script
from pipeline_support import make_settings
from sources_tools import send_amplitude, send_mixpanel, send_segment, send_snowplow, write_ga4
from sources_world import (
    END,
    SEGMENT_VALUES_VIEW,
    START,
    Record,
    experiment_yaml,
    native_frames,
    native_rows,
    segment_warehouse_frames,
    simulate,
)
from tool_capture_server import ToolCaptureServer

REPO = Path(__file__).resolve().parents[1]
IN_PLACE_DATABASE = "in_place_run"
SEGMENT_WAREHOUSE = {  # Segment's warehouse sync, read in place; a view adds the session_end table's `value` to tracks
    "name": "warehouse",
    "preset": "segment_warehouse",
    "warehouse_schema": "segment_prod",
    "tables": {"events": "segment_prod.tracks_with_values"},
    "events": {"value": "value"},
}
TOOLS = {  # copy → (preset, folder, logged-out unit)
    "segment": ("segment", "segment", "anonymous_id"),
    "rudderstack": ("rudderstack", "rudderstack", "anonymous_id"),
    "mixpanel": ("mixpanel", "mixpanel", "anonymous_id"),
    "amplitude": ("amplitude", "amplitude", "device_id"),
    "snowplow": ("snowplow", "snowplow", "anonymous_id"),
    "ga4": ("ga4", "ga4", "anonymous_id"),
    "segwh": ("segment_warehouse", None, "anonymous_id"),
}
SOURCES_YAML = {
    "sources": [
        {"name": "native", "preset": "exptrack", "folder": "."},
        {"name": "web", "preset": "segment", "folder": "segment"},
        {"name": "server", "preset": "rudderstack", "folder": "rudderstack"},
        {"name": "app", "preset": "mixpanel", "folder": "mixpanel", "epoch": "s"},
        {"name": "product", "preset": "amplitude", "folder": "amplitude"},
        {"name": "tracker", "preset": "snowplow", "folder": "snowplow"},
        {"name": "analytics", "preset": "ga4", "folder": "ga4"},
        SEGMENT_WAREHOUSE,
    ]
}


IN_PLACE_SOURCES_YAML = {
    "sources": [
        {"name": "native", "preset": "exptrack", "warehouse_schema": "product_events"},
        SEGMENT_WAREHOUSE,
    ]
}
IN_PLACE_EXPERIMENTS = {
    "signup_native": "user_id",
    "logout_native": "user_id",
    "signup_segwh": "user_id",
    "logout_segwh": "anonymous_id",
}


def _write_native(raw: Path) -> None:
    exposures, events = native_rows(simulate("native"))
    for name, rows, stamp in (("exposures", exposures, "exposed_at"), ("events", events, "occurred_at")):
        by_day: dict[str, list[dict]] = {}
        for row in rows:
            by_day.setdefault(row[stamp][:10], []).append(row)
        for day, day_rows in by_day.items():
            folder = raw / name / f"date={day}"
            folder.mkdir(parents=True)
            with (folder / "part-0.csv").open("w", newline="") as out:
                writer = csv.DictWriter(out, fieldnames=list(day_rows[0]))
                writer.writeheader()
                writer.writerows(day_rows)


def _segment_world():
    """The segment copy plus dirt that must not change its results: exposures to an unknown variant and to an
    experiment the registry does not have (new visitors, excluded and counted), a shared device (another user
    identified later on an exposed anonymous id) and a second device of a converted user (linked after the first):
    both counted, neither re-routes an event."""
    world = simulate("segment")
    late = dt.datetime.combine(END, dt.time(23, 0))
    world.add(
        Record("exposure", late, anonymous_id="segment_stray", experiment_id="logout_segment", variant="treatment_b")
    )
    world.add(Record("exposure", late, anonymous_id="segment_lost", experiment_id="retired_segment", variant="control"))
    first_identify = next(r for r in world.records if r.kind == "identify")
    world.add(Record("identify", late, user_id="segment_someone_else", anonymous_id=first_identify.anonymous_id))
    world.add(Record("identify", late, user_id=first_identify.user_id, anonymous_id="segment_second_phone"))
    return world


def _redeliver(folder: Path, share: int = 10) -> int:
    """Copy every `share`-th message of each day's file into the next day's folder (a re-delivered batch)."""
    copied = 0
    for day_folder in sorted(folder.glob("date=*"))[:-1]:  # the last day's next day is not loaded
        lines = gzip.decompress((day_folder / "batch-0001.jsonl.gz").read_bytes()).decode().splitlines(keepends=True)
        next_day = dt.date.fromisoformat(day_folder.name[5:]) + dt.timedelta(days=1)
        target = folder / f"date={next_day.isoformat()}"
        target.mkdir(exist_ok=True)
        (target / "redelivered.jsonl").write_text("".join(lines[::share]))
        copied += len(lines[::share])
    return copied


def _write_tools(raw: Path) -> dict[str, int]:
    sent = {}
    with ToolCaptureServer() as server:
        send_segment(_segment_world(), server.base_url)
        server.write_segment(raw / "segment")
        sent["segment"] = len(server.received["segment"]) + _redeliver(raw / "segment")
        server.received["segment"].clear()
        send_segment(simulate("rudderstack"), server.base_url, module="rudderstack")
        server.write_segment(raw / "rudderstack")
        sent["rudderstack"] = len(server.received["segment"])
        send_mixpanel(simulate("mixpanel"), server.base_url)
        server.write_mixpanel(raw / "mixpanel")
        send_amplitude(simulate("amplitude"), server.base_url)
        server.write_amplitude(raw / "amplitude")
        send_snowplow(simulate("snowplow"), server.base_url)
        server.write_snowplow(raw / "snowplow")
        sent.update({tool: len(server.received[tool]) for tool in ("mixpanel", "amplitude", "snowplow")})
    sent["ga4"] = write_ga4(simulate("ga4"), raw / "ga4")
    return sent


def _write_segment_warehouse(warehouse: Path) -> int:
    """Segment's warehouse sync of the `segwh` copy in schema segment_prod of the DuckDB warehouse (sources_world.py).
    Returns the rows the source reads."""
    frames = segment_warehouse_frames(simulate("segwh"))
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema segment_prod")
        for name, frame in frames.items():  # noqa: B007 (frame is read by DuckDB below)
            con.execute(f"create table segment_prod.{name} as select * from frame")
        con.execute(SEGMENT_VALUES_VIEW)
    return sum(len(frames[name]) for name in ("tracks", "experiment_viewed", "identifies"))


def _in_place_registry(root: Path) -> Path:
    registry = root / "experiments"
    registry.mkdir()
    shutil.copy(REPO / "experiments" / "metrics.yaml", registry / "metrics.yaml")
    for experiment_id, unit in IN_PLACE_EXPERIMENTS.items():
        (registry / f"{experiment_id}.yaml").write_text(
            yaml.safe_dump(experiment_yaml(experiment_id, unit), sort_keys=False)
        )
    (registry / "sources.yaml").write_text(yaml.safe_dump(IN_PLACE_SOURCES_YAML, sort_keys=False))
    return registry


def _tables() -> dict[str, pd.DataFrame]:
    tables = {f"product_events.{name}": frame for name, frame in native_frames(simulate("native")).items()}
    tables.update(
        {f"segment_prod.{name}": frame for name, frame in segment_warehouse_frames(simulate("segwh")).items()}
    )
    return tables


def _write(con, tables: dict[str, pd.DataFrame], register) -> None:
    """The same tables in either engine: `register(name, frame)` makes the frame readable as `name`."""
    for schema in ("product_events", "segment_prod"):
        con.execute(f"create schema {schema}")
    for number, (table, frame) in enumerate(tables.items()):
        register(f"frame_{number}", frame)
        con.execute(f"create table {table} as select * from frame_{number}")
    con.execute(SEGMENT_VALUES_VIEW)


def e2e_settings(root: Path):
    """The settings of the e2e run in `root` (its landing zone, registry and DuckDB warehouse)."""
    return make_settings(root, experiments_dir=root / "experiments")


def _prepare_e2e(root: Path):
    registry = root / "experiments"
    registry.mkdir()
    shutil.copy(REPO / "experiments" / "metrics.yaml", registry / "metrics.yaml")
    for copy, unit in [("native", "user_id"), *((c, u) for c, (_, _, u) in TOOLS.items())]:
        for experiment_id, experiment_unit in ((f"signup_{copy}", "user_id"), (f"logout_{copy}", unit)):
            (registry / f"{experiment_id}.yaml").write_text(
                yaml.safe_dump(experiment_yaml(experiment_id, experiment_unit), sort_keys=False)
            )
    (registry / "sources.yaml").write_text(yaml.safe_dump(SOURCES_YAML, sort_keys=False))
    settings = e2e_settings(root)
    _write_native(settings.raw_dir)
    sent_warehouse = _write_segment_warehouse(settings.warehouse)
    sent = {**_write_tools(settings.raw_dir), "segwh": sent_warehouse}
    (root / "sent.json").write_text(json.dumps(sent))
    return settings


def in_place_settings(root: Path, engine: str):
    """The settings of the in_place run in `root` on `engine` (duckdb, or postgres from the EXPTRACK_PG_* variables)."""
    from exptrack_pipeline.config.settings import PostgresSettings

    settings = make_settings(root / engine, experiments_dir=root / "experiments")
    if engine == "duckdb":
        return settings
    pg = PostgresSettings(
        host=os.environ["EXPTRACK_PG_HOST"],
        port=int(os.environ["EXPTRACK_PG_PORT"]),
        user=os.environ["EXPTRACK_PG_USER"],
        database=IN_PLACE_DATABASE,
        sslmode="disable",
    )
    return settings.model_copy(update={"target": "postgres", "postgres": pg})


def postgres_warehouse(server):
    """The in_place run's PostgreSQL database on the session's `server`."""
    from exptrack_pipeline.warehouse import PostgresWarehouse

    return PostgresWarehouse(
        host=server.host,
        port=server.port,
        user=server.user,
        database=IN_PLACE_DATABASE,
        sslmode="disable",
        password=server.password,
    )


def _prepare_in_place(root: Path) -> list:
    from exptrack_pipeline.warehouse import PostgresWarehouse

    _in_place_registry(root)
    tables = _tables()
    duck = in_place_settings(root, "duckdb")
    duck.warehouse.parent.mkdir(parents=True)
    with duckdb.connect(str(duck.warehouse)) as con:
        _write(con, tables, con.register)
    pg = in_place_settings(root, "postgres")
    warehouse = PostgresWarehouse(
        host=pg.postgres.host,
        port=pg.postgres.port,
        user=pg.postgres.user,
        database=IN_PLACE_DATABASE,
        sslmode="disable",
        password=os.environ["EXPTRACK_PG_PASSWORD"],
    )
    with warehouse.connect() as con:
        _write(con, tables, con.register)
    return [duck, pg]


def main(argv: list[str]) -> None:
    """`e2e ROOT` or `in_place ROOT`: prepare the fixtures in ROOT and run the pipeline (once per engine)."""
    from dagster import DagsterInstance

    from exptrack_pipeline.cli import run_pipeline

    which, root = argv[0], Path(argv[1])
    runs = [_prepare_e2e(root)] if which == "e2e" else _prepare_in_place(root)
    for settings in runs:
        with DagsterInstance.ephemeral() as instance:
            run_pipeline(START, END + dt.timedelta(days=1), settings, instance=instance)


def _start_e2e(shared: Shared) -> BackgroundProcess:
    root = shared.temp_dir("exptrack-sources-e2e-")
    return BackgroundProcess(root, python_script([Path(__file__), "e2e", root]), {})


def _start_in_place(shared: Shared) -> BackgroundProcess | None:
    server = shared.postgres()
    if server is None:
        return None
    server.create_database(IN_PLACE_DATABASE)
    root = shared.temp_dir("exptrack-sources-in-place-")
    env = {**server.env(IN_PLACE_DATABASE), "EXPTRACK_PG_SSLMODE": "disable"}
    return BackgroundProcess(root, python_script([Path(__file__), "in_place", root]), env)


SOURCES_E2E = BackgroundRun("sources_e2e", _start_e2e)
SOURCES_IN_PLACE = BackgroundRun("sources_in_place", _start_in_place)


if __name__ == "__main__":
    main(sys.argv[1:])
