"""One test warehouse for the incremental-model tests: the world written into it, dbt run in-process on it with a
parsed manifest (no parse per run), the refresh scope and every compared table read back.

What is compared is listed from the manifest, not by hand: every table of models/marts, models/lifecycle and
models/monitoring and every incremental model, plus experiment_results (the real asset over the marts). A daily run
(`daily_selection`) builds the incremental models with their parents and every refresh state model (those guarded by
`exptrack_require_built_together`: int_refresh_state, int_refresh_caps, ...), as a daily `exptrack run` does, so a
cap or an analysed phase is compared with the one the last run recorded. The marts — full tables over those — are
built only when they are compared (`full_selection`): a table model depends only on its parents' current rows, so
building it once at the end of a sequence equals building it after every run. Likewise, on DuckDB (views bound
late), the views (staging) are created by the first run and left out of later daily runs: their SQL does not change
between runs. A --full-refresh builds everything.

A DuckDB lab's first two builds are kept, by a digest of the warehouse file before the build, every input of the
world and the dbt arguments (`build_key`), and a later lab of the same process whose build has the same key gets a
copy of the file instead of running dbt again: e.g. test_incremental_cap_corrections.py and
test_incremental_unit_recap.py both start from World(12) after 6 days and World(13) after 5, the three tests of
test_event_id_hashes.py from the same first build and daily run. dbt's output on DuckDB depends only on those
inputs; a file a test changed between builds (a planted row, a mark) has other bytes, so it never matches.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
from incremental_world import World

REPO = Path(__file__).resolve().parents[1]
DBT_DIR = REPO / "dbt_project"
STATE_GUARD = "macro.exptrack.exptrack_require_built_together"
"""The macro every refresh state model calls (macros/exptrack_refresh_scope.sql): how the lab finds them."""
COMPARED_FOLDERS = ("marts", "lifecycle", "monitoring")
CACHED_BUILDS = 2
"""How many builds of each DuckDB lab are kept for reuse: the first two (a test's start, e.g. a first build and its
first daily run, is where labs of different tests coincide; later builds follow each test's own cases)."""
QUIET_ARTIFACTS = ["--no-write-json", "--log-level", "none", "--log-level-file", "none"]
"""What a DuckDB or PostgreSQL lab's dbt run leaves out: manifest.json and run_results.json (the lab reads the results
from the runner, and the manifest is the session's) and dbt's loggers. dbt builds each logger's line for every event
(a debug line for the file, a text line for stdout, each scanned for secrets) before Python's logging drops it by
level, so `--quiet` and `--log-level-file error` still paid for every statement's lines; with both loggers off
(`none`) no line is made. A failed build's messages are in the assertion (the runner's results and exception). About
a fifth of a daily build's CPU (docs/testing.md, "Lab builds without dbt's artifacts"). A test that reads dbt.log
sets `Lab.dbt_output = []`; the Spark lab (tests/spark_incremental_run.py) keeps dbt's defaults."""
_BUILDS: dict[str, tuple[Path, frozenset[str]]] = {}
"""DuckDB builds of this process by build_key: the warehouse file after the build and the views it had created."""
_CACHE: list[Path] = []
"""The folder of those copies (one per process, deleted at exit)."""


def build_key(warehouse: Path, world: World, args: list[str]) -> str:
    """What a DuckDB build's result depends on: the warehouse file's bytes before it (none: an empty warehouse), every
    raw and registry input of the world and the dbt arguments (the manifest is the session's). Anything a test wrote
    into the file between builds changes its bytes, hence the key."""
    digest = hashlib.sha256(repr(args).encode())
    digest.update(hashlib.sha256(warehouse.read_bytes()).digest() if warehouse.exists() else b"empty")
    for name, frame in sorted(world.raw_tables().items()):
        digest.update(name.encode() + frame.to_csv(index=False).encode())
    digest.update(repr((world.metrics, world.experiments, world.identities)).encode())
    return digest.hexdigest()


def _keep_build(key: str, warehouse: Path, views: set[str]) -> None:
    """Keep a copy of a build's warehouse for a later lab whose build has the same key (deleted at exit)."""
    if not _CACHE:
        _CACHE.append(Path(tempfile.mkdtemp(prefix="exptrack-lab-builds-")))
        atexit.register(shutil.rmtree, _CACHE[0], True)
    copy = _CACHE[0] / f"{key}.duckdb"
    shutil.copyfile(warehouse, copy)
    _BUILDS[key] = (copy, frozenset(views))


@contextmanager
def _environ(env: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def parse_manifest(env: dict[str, str], target_path: Path):
    """`dbt parse` in-process for the target `env` names; the parsed Manifest (for a runner that skips parsing)."""
    from dbt.cli.main import dbtRunner

    args = ["parse", "--quiet", "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR)]
    with _environ({**env, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}):
        result = dbtRunner().invoke([*args, "--target-path", str(target_path), "--log-path", str(target_path)])
    assert result.success, f"dbt parse failed: {result.exception}"
    return result.result


def load_manifest(path: Path):
    """The session's parsed manifest.json (conftest.py's dbt_manifest, target duckdb) as a Manifest."""
    from dbt.contracts.graph.manifest import Manifest, WritableManifest

    manifest = Manifest.from_writable_manifest(WritableManifest.read_and_check_versions(str(path)))
    manifest.build_flat_graph()  # the `graph` context variable (the refresh-state guard walks graph.nodes)
    return manifest


def project_models(manifest) -> dict[str, object]:
    """The project's models by name."""
    return {
        node.name: node
        for node in manifest.nodes.values()
        if node.resource_type == "model" and node.package_name == "exptrack"
    }


class Lab:
    """A warehouse (WarehouseResource) on one engine, its dbt environment and a parsed manifest."""

    def __init__(self, resource, env: dict[str, str], root: Path, manifest, late_bound_views: bool = False) -> None:
        self.resource, self.env, self.root, self.manifest = resource, env, root, manifest
        self.late_bound_views = late_bound_views
        models = project_models(manifest)
        self.incremental = sorted(name for name, node in models.items() if node.config.materialized == "incremental")
        self.marts = sorted(
            name
            for name, node in models.items()
            if node.fqn[1] in COMPARED_FOLDERS and node.config.materialized != "view"
        )
        self.state = sorted(name for name, node in models.items() if STATE_GUARD in node.depends_on.macros)
        self.daily_selection = [f"+{name}" for name in self.incremental + self.state]
        self.full_selection = self.daily_selection + [f"+{name}" for name in self.marts]
        self.views = {name for name, node in models.items() if node.config.materialized == "view"}
        self.views_built: set[str] = set()
        self.builds = 0  # builds run or copied (the first CACHED_BUILDS are keyed and kept)
        self.dbt_output: list[str] = []  # dbt arguments for its files (QUIET_ARTIFACTS on DuckDB and PostgreSQL)

    @classmethod
    def duckdb(cls, root: Path, manifest_path: Path) -> Lab:
        """A DuckDB file named for the manifest's database (dbt-duckdb names the database after the file)."""
        from exptrack_pipeline.defs.resources import WarehouseResource

        manifest = load_manifest(manifest_path)
        database = next(iter(project_models(manifest).values())).database
        path = root / f"{database}.duckdb"
        env = {"EXPTRACK_DBT_TARGET": "duckdb", "EXPTRACK_WAREHOUSE": str(path)}
        lab = cls(WarehouseResource(target="duckdb", path=str(path)), env, root, manifest, late_bound_views=True)
        lab.dbt_output = QUIET_ARTIFACTS
        return lab

    @classmethod
    def postgres(cls, root: Path, env: dict[str, str]) -> Lab:
        """The database the EXPTRACK_PG_* variables of `env` name; the manifest parsed for target postgres."""
        from exptrack_pipeline.defs.resources import WarehouseResource

        env = {**env, "EXPTRACK_DBT_TARGET": "postgres"}
        resource = WarehouseResource(
            target="postgres",
            pg_host=env["EXPTRACK_PG_HOST"],
            pg_port=int(env["EXPTRACK_PG_PORT"]),
            pg_user=env["EXPTRACK_PG_USER"],
            pg_database=env["EXPTRACK_PG_DATABASE"],
            pg_sslmode=env.get("EXPTRACK_PG_SSLMODE", "disable"),
            pg_password=env["EXPTRACK_PG_PASSWORD"],
        )
        lab = cls(resource, env, root, parse_manifest(env, root / "parse"))
        lab.dbt_output = QUIET_ARTIFACTS
        return lab

    def build(self, world: World, full_refresh: bool = False, marts: bool = False) -> None:
        """Write the world, then `dbt run` a daily run (the incremental models and the refresh state; `marts`: the
        marts too) or a `--full-refresh` of everything compared."""
        from dbt.cli.main import dbtRunner

        selection = self.full_selection if marts or full_refresh else self.daily_selection
        args = ["run", "--select", *selection, "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR)]
        if self.late_bound_views and self.views_built and not full_refresh:
            # a view built once stays what it was (on DuckDB; PostgreSQL drops the views over a rebuilt table)
            args += ["--exclude", *sorted(self.views_built)]
        args += ["--full-refresh"] if full_refresh else []
        # SparkResource has no `target`: only DuckDB files are kept and copied
        path = Path(self.resource.path) if getattr(self.resource, "target", None) == "duckdb" else None
        key = build_key(path, world, args) if path is not None and self.builds < CACHED_BUILDS else None
        self.builds += 1
        if key in _BUILDS:  # the same build earlier in this process (another test's lab): its warehouse, copied
            cached, views = _BUILDS[key]
            world.registry_tables(self.root / "registry")  # the registry folder as the build leaves it
            _release_duckdb()
            shutil.copyfile(cached, path)
            Path(f"{path}.wal").unlink(missing_ok=True)
            self.views_built |= views
            return
        world.write(self.resource.backend(), self.root / "registry")
        args += ["--quiet", "--target-path", str(self.root / "target"), "--log-path", str(self.root / "logs")]
        args += self.dbt_output
        with _environ({**self.env, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}):
            try:
                result = dbtRunner(manifest=self.manifest).invoke(args)
            finally:
                _release_duckdb()
        failures = [f"{r.node.name}: {r.message}" for r in getattr(result.result, "results", []) if r.status == "error"]
        assert result.success, f"dbt run failed: {result.exception or failures}"
        self.views_built |= {r.node.name for r in result.result.results} & self.views
        if key is not None:
            _keep_build(key, path, self.views_built)

    def reset(self) -> None:
        """An empty warehouse again, for a new world's sequence (its first build is then a full one): the DuckDB
        file removed, or PostgreSQL's dbt schema dropped (raw and registry tables are replaced by every build)."""
        self.views_built.clear()
        self.builds = 0
        if self.resource.target == "duckdb":
            _release_duckdb()
            for path in (Path(self.resource.path), Path(f"{self.resource.path}.wal")):
                path.unlink(missing_ok=True)
        else:
            self.resource.execute("drop schema if exists main cascade")

    def read(self, sql: str) -> pd.DataFrame:
        return self.resource.read_df(sql)

    def scope(self) -> set[tuple[str, object]]:
        """int_refresh_scope of the last run: (scope_kind, key), the key a date for events and exposures, an id
        otherwise."""
        frame = self.read("select scope_kind, scope_key, since_date from main.int_refresh_scope")
        return {
            (kind, pd.Timestamp(since).date() if kind in ("events", "exposures") else key)
            for kind, key, since in frame.itertuples(index=False)
        }

    def assignments(self) -> pd.DataFrame:
        """The analysed units (int_assignments) as the last run left them."""
        return self.read(
            "select experiment_id, user_id, unit_type, variant, first_exposed_at from main.int_assignments"
        )

    def assignment_changes(self) -> set[tuple[str, str]]:
        """(experiment, unit) of int_assignment_changes: the units the last run rebuilt."""
        frame = self.read("select experiment_id, user_id from main.int_assignment_changes")
        return set(frame.itertuples(index=False, name=None))

    def history(self, through: object) -> pd.DataFrame:
        """exp_a's and exp_b's rows of int_unit_metric_daily_by_partition from partitions up to `through`."""
        return self.read(
            "select * from main.int_unit_metric_daily_by_partition "
            f"where experiment_id in ('exp_a', 'exp_b') and partition_date <= cast('{through}' as date)"
        )

    def deltas(self, experiment_id: str, metric_id: str) -> pd.DataFrame:
        """A metric's rows of int_variant_metric_daily_deltas in one experiment."""
        return self.read(
            "select * from main.int_variant_metric_daily_deltas "
            f"where experiment_id = '{experiment_id}' and metric_id = '{metric_id}'"
        )

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every mart, every incremental model and experiment_results (the asset run on the marts), normalized."""
        import dagster as dg

        from exptrack_pipeline.defs.results.assets import experiment_results

        experiment_results(dg.build_asset_context(), warehouse=self.resource)
        names = [*sorted(set(self.marts + self.incremental)), "experiment_results"]
        backend = self.resource.backend()
        one_connection = getattr(backend, "one_connection", None)  # DuckDB: the file opened once, not per table
        with one_connection(read_only=True) if one_connection else nullcontext(backend) as reader:
            return {name: normalized(reader.read_df(f"select * from main.{name}")) for name in names}


def _release_duckdb() -> None:
    """Close dbt-duckdb's process-wide database handle, so the file is free for the test's own connections."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:
        return
    with DuckDBConnectionManager._LOCK:
        if DuckDBConnectionManager._ENV is not None:
            DuckDBConnectionManager._ENV.close()
            DuckDBConnectionManager._ENV = None


def _is_number(column: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(column):
        return False
    if pd.api.types.is_numeric_dtype(column):
        return True
    values = column.dropna()
    return len(values) > 0 and all(isinstance(v, (Decimal, int, float)) and not isinstance(v, bool) for v in values)


def normalized(frame: pd.DataFrame) -> pd.DataFrame:
    """Numbers as floats, everything else as text; rows in a canonical order (text columns, then numbers rounded)."""
    out = pd.DataFrame(index=frame.index)
    numbers = []
    for column in frame.columns:
        if _is_number(frame[column]):
            out[column] = frame[column].astype(float)
            numbers.append(column)
        else:
            out[column] = frame[column].astype(str)
    keys = [c for c in out.columns if c not in numbers] + [f"_{c}" for c in numbers]
    rounded = out.assign(**{f"_{c}": out[c].round(6) for c in numbers})
    return rounded.sort_values(keys, kind="stable").drop(columns=[f"_{c}" for c in numbers]).reset_index(drop=True)


def assert_same(incremental: dict[str, pd.DataFrame], full: dict[str, pd.DataFrame], context: str = "") -> None:
    """Every table equal: the same rows, text and dates exactly, numbers to 1e-9 (relative beyond 1)."""
    assert sorted(incremental) == sorted(full), context
    for name, expected in full.items():
        got, where = incremental[name], f"{context}{name}"
        assert len(got) == len(expected), f"{where}: {len(got)} rows incrementally, {len(expected)} in a full refresh"
        assert list(got.columns) == list(expected.columns), where
        for column in expected.columns:
            a, b = got[column], expected[column]
            if pd.api.types.is_float_dtype(a) or pd.api.types.is_float_dtype(b):
                a, b = (pd.to_numeric(x, errors="coerce").to_numpy(dtype=float) for x in (a, b))
                close = np.isclose(a, b, rtol=1e-9, atol=1e-9) | (np.isnan(a) & np.isnan(b))
                assert close.all(), (
                    f"{where}.{column}: rows {np.flatnonzero(~close)[:5]} differ: {a[~close][:5]} vs {b[~close][:5]}"
                )
            else:
                differ = np.flatnonzero(a.to_numpy() != b.to_numpy())
                assert len(differ) == 0, (
                    f"{where}.{column}: rows {differ[:5]} differ: {a.iloc[differ[:3]].tolist()} "
                    f"vs {b.iloc[differ[:3]].tolist()}"
                )
