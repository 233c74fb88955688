"""The dbt project and the dbt executable, in one place: dagster-dbt needs the manifest before the assets import.

`dbt_executable()` is the dbt beside this Python (the project venv), else the one on PATH: the `dbt` resource runs it,
and `dagster dev` parses the project with it (`VenvDbtPreparer`), so nothing depends on PATH and nothing changes it.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from dagster_dbt import DagsterDbtProjectPreparer, DbtCliResource, DbtProject

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"


def dbt_executable() -> str:
    """The dbt next to this Python (the project venv), else the one on PATH."""
    for candidate in (Path(sys.prefix) / "bin" / "dbt", Path(sys.executable).parent / "dbt"):
        if candidate.exists():
            return str(candidate)
    return shutil.which("dbt") or "dbt"


class VenvDbtPreparer(DagsterDbtProjectPreparer):
    """dagster-dbt's preparer (deps + parse under `dagster dev`), run with `dbt_executable()` instead of PATH's dbt."""

    def _prepare_packages(self, project: DbtProject) -> None:
        DbtCliResource(project_dir=project, dbt_executable=dbt_executable()).cli(
            ["deps", "--quiet"], target_path=project.target_path
        ).wait()

    def _prepare_manifest(self, project: DbtProject) -> None:
        cli = DbtCliResource(project_dir=project, dbt_executable=dbt_executable())
        cli.cli(self._prepare_project_cli_args, target_path=project.target_path).wait()


dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
VenvDbtPreparer().prepare_if_dev(
    dbt_project
)  # dbt_project.prepare_if_dev() with our dbt: parses only under `dagster dev`
