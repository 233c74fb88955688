"""Every column of every mart, monitoring and lifecycle model and of every dbt source has a description
(tools/check_dbt_docs.py against the demo warehouse, where every model is built)."""

from __future__ import annotations

import sys

from pipeline_support import REPO

sys.path.insert(0, str(REPO / "tools"))

import check_dbt_docs


def test_every_model_and_source_column_is_described(demo_run):
    assert check_dbt_docs.problems(demo_run.warehouse) == []


def test_the_check_finds_an_undocumented_column(demo_run, tmp_path):
    import shutil

    copy = tmp_path / "dbt_project"
    shutil.copytree(check_dbt_docs.DBT_DIR / "models", copy / "models")
    marts = copy / "models" / "marts" / "_marts.yml"
    marts.write_text(
        marts.read_text().replace(
            'description: "Units of the cohort whose day k', 'description: "" # Units of the cohort whose day k', 1
        )
    )
    assert check_dbt_docs.problems(demo_run.warehouse, copy) == [
        "main.fct_retention_cohorts.eligible_units: no description"
    ]
