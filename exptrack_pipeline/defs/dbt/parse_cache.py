"""dbt's partial parsing across Dagster runs: every run starts from the parse the previous run left.

dagster-dbt gives every dbt invocation its own target folder (`target/<op>-<run id>-<random>`), so dbt never finds
the `partial_parse.msgpack` of an earlier run there and re-parses the whole project (every model, test, macro and
YAML file) at each start. Before a run, the last run's file is copied into the new target folder; after it, the file
the run wrote becomes the one the next run starts from (written to a temporary name, then renamed: concurrent runs
never see half a file). dbt itself checks the file: it re-parses the files whose contents changed, and the whole
project when its version, the profile (warehouse path, settings), the command-line vars or the env vars the project
reads differ — so a stale cache costs a full parse, never a stale node.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

PARTIAL_PARSE = "partial_parse.msgpack"


def run_target_path(target_dir: Path, op_name: str, run_id: str) -> Path:
    """A fresh target folder for one dbt invocation, named as dagster-dbt names it (`<op>-<run id[:7]>-<random>`)."""
    return target_dir / f"{op_name}-{run_id[:7]}-{uuid.uuid4().hex[:7]}"


def seed_partial_parse(target_dir: Path, run_target: Path) -> bool:
    """Copy the last run's partial parse into the run's target folder; False when there is none yet."""
    cached = target_dir / PARTIAL_PARSE
    if not cached.exists():
        return False
    run_target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(cached, run_target / PARTIAL_PARSE)
    return True


def keep_partial_parse(target_dir: Path, run_target: Path) -> bool:
    """Make the run's partial parse the one the next run starts from; False when the run wrote none."""
    written = run_target / PARTIAL_PARSE
    if not written.exists():
        return False
    target_dir.mkdir(parents=True, exist_ok=True)
    partial = target_dir / f".{PARTIAL_PARSE}.{uuid.uuid4().hex[:7]}"
    shutil.copyfile(written, partial)
    os.replace(partial, target_dir / PARTIAL_PARSE)
    return True
