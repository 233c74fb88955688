"""The dbt project, alone in its module: dagster-dbt needs its manifest before the definitions import."""

import os
import sys
from pathlib import Path

from dagster_dbt import DbtProject

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"

# `dagster dev` parses the project with the `dbt` on PATH: make it the one installed beside this Python.
_venv_bin = str(Path(sys.prefix) / "bin")
if (Path(_venv_bin) / "dbt").exists() and _venv_bin not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _venv_bin + os.pathsep + os.environ.get("PATH", "")

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
dbt_project.prepare_if_dev()
