"""dbt's partial parsing across Dagster runs: every run starts from the parse the previous run left.

dagster-dbt gives every dbt invocation its own target folder (`target/<op>-<run id>-<random>`), so dbt never finds
the `partial_parse.msgpack` of an earlier run there and re-parses the whole project (every model, test, macro and
YAML file) at each start. Before a run, the last run's file is copied into the new target folder; after it, the file
the run wrote becomes the one the next run starts from (written to a temporary name, then renamed: concurrent runs
never see half a file). dbt itself checks the file: it re-parses the files whose contents changed, and the whole
project when its version, the profile (warehouse path, settings), the command-line vars or the env vars the project
reads differ — so a stale cache costs a full parse, never a stale node.

The file is also kept per profile (`partial_parse.<profile key>.msgpack`, the key a hash of the environment
variables profiles.yml reads): processes that alternate between warehouses on one project folder — the test suite's
parallel lanes, a DuckDB and a PostgreSQL deployment side by side — each start from their own warehouse's last parse
instead of the other's (a full parse, ~4 CPU-s). A profile never seen before starts from the last run's file.

The run folders themselves (the partial parse, the compiled and run SQL of every node: ≈ 3.3 MB a run) are kept for
the newest KEPT_RUNS runs of each op, for a look at what the last runs executed; older ones are removed after each
run (`prune_run_targets`), so a daily schedule does not fill the disk (≈ 1.2 GB a year before). A folder younger
than KEPT_RUN_AGE is never removed: it may belong to a run still going on in another process.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import time
import uuid
from collections.abc import Mapping
from pathlib import Path

PARTIAL_PARSE = "partial_parse.msgpack"
KEPT_PER_PROFILE = 16  # the newest per-profile files kept in the target folder; older ones are removed
KEPT_RUNS = 14  # the newest run folders kept per op (two weeks of daily runs); older ones are removed
KEPT_RUN_AGE = 24 * 3600.0  # seconds: a run folder younger than this is kept whatever the count (a run in progress)
_ENV_VAR = re.compile(r"""env_var\(\s*['"]([A-Za-z0-9_]+)['"]""")
_SECRET = re.compile("PASSWORD|TOKEN|SECRET|KEY", re.IGNORECASE)


def profile_key(profiles_yml: Path, environ: Mapping[str, str] | None = None) -> str:
    """A short hash of the values of the environment variables `profiles_yml` reads (the target, the warehouse
    path or server, its settings) — what makes dbt reject another profile's partial parse. Secrets are left out
    (their names say so); two profiles differing only in a secret share a file, which dbt then re-checks."""
    environ = os.environ if environ is None else environ
    names = sorted(set(_ENV_VAR.findall(profiles_yml.read_text())))
    text = "\x00".join(f"{name}={environ.get(name, '')}" for name in names if not _SECRET.search(name))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _keyed(target_dir: Path, key: str) -> Path:
    return target_dir / f"partial_parse.{key}.msgpack"


def run_target_path(target_dir: Path, op_name: str, run_id: str) -> Path:
    """A fresh target folder for one dbt invocation, named as dagster-dbt names it (`<op>-<run id[:7]>-<random>`)."""
    return target_dir / f"{op_name}-{run_id[:7]}-{uuid.uuid4().hex[:7]}"


def seed_partial_parse(target_dir: Path, run_target: Path, key: str | None = None) -> bool:
    """Copy the partial parse of the last run with this profile `key` (else the last run's) into the run's target
    folder; False when there is none yet."""
    cached = _keyed(target_dir, key) if key else None
    if cached is None or not cached.exists():
        cached = target_dir / PARTIAL_PARSE
    if not cached.exists():
        return False
    run_target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(cached, run_target / PARTIAL_PARSE)
    return True


def keep_partial_parse(target_dir: Path, run_target: Path, key: str | None = None) -> bool:
    """Make the run's partial parse the one the next run (with this profile `key`) starts from; False when the run
    wrote none."""
    written = run_target / PARTIAL_PARSE
    if not written.exists():
        return False
    target_dir.mkdir(parents=True, exist_ok=True)
    for kept in [target_dir / PARTIAL_PARSE] + ([_keyed(target_dir, key)] if key else []):
        partial = target_dir / f".{PARTIAL_PARSE}.{uuid.uuid4().hex[:7]}"
        shutil.copyfile(written, partial)
        os.replace(partial, kept)
    if key:
        _prune(target_dir)
    return True


def prune_run_targets(
    target_dir: Path, run_target: Path, keep: int = KEPT_RUNS, min_age: float = KEPT_RUN_AGE
) -> list[Path]:
    """Remove the run folders of `run_target`'s op (`<op>-<run id[:7]>-<random>`, as `run_target_path` and
    dagster-dbt name them) but the `keep` newest, `run_target` always among them, and but those modified less than
    `min_age` seconds ago; the removed folders. Other files and folders in `target_dir` (the kept partial parses,
    the manifest of `dbt parse`, other ops' runs) are left alone."""
    op_name = run_target.name.rsplit("-", 2)[0]
    pattern = re.compile(rf"{re.escape(op_name)}-[0-9A-Za-z]{{1,7}}-[0-9a-f]{{7}}")
    runs = [p for p in target_dir.glob(f"{op_name}-*") if p.is_dir() and pattern.fullmatch(p.name) and p != run_target]
    oldest_kept = time.time() - min_age
    older = sorted(runs, key=_mtime, reverse=True)[max(keep - 1, 0) :]
    removed = [p for p in older if _mtime(p) < oldest_kept]
    for old in removed:
        shutil.rmtree(old, ignore_errors=True)  # a concurrent run may be removing it too
    return removed


def _prune(target_dir: Path) -> None:
    """Remove all but the KEPT_PER_PROFILE newest per-profile files (a test suite makes hundreds of warehouses)."""
    keyed = sorted(target_dir.glob("partial_parse.*.msgpack"), key=_mtime, reverse=True)
    for old in keyed[KEPT_PER_PROFILE:]:
        old.unlink(missing_ok=True)  # another process may have removed it first


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return 0.0
