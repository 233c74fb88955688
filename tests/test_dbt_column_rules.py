"""A model's column rules in one dbt test (issue 16): `exptrack_columns_valid` (dbt_project/tests/generic/) checks
not_null, non_negative and accepted_values rules of many columns in one scan and fails with one row per broken rule
naming the column, the rule and the offending rows.

Real dbt on a real DuckDB file: a small project with one model and the project's generic test; clean data passes,
one bad value in one column fails the test with exactly that column and rule.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from incremental_lab import _environ, _release_duckdb
from pipeline_support import REPO

RULES = """
version: 2
sources:
  - name: lab
    schema: main
    tables:
      - name: shapes_input
models:
  - name: shapes
    description: The lab's rows, as a view.
    data_tests:
      - exptrack_columns_valid:
          name: columns_valid_shapes
          arguments:
            not_null: [id, amount]
            non_negative: [amount, weight]
            accepted_values:
              kind: [a, b]
    columns:
      - name: id
      - name: amount
      - name: weight
      - name: kind
"""
CLEAN = "(1, 0.0, 1.5, 'a'), (2, 2.5, null, 'b'), (3, 1.0, 0.0, null)"  # a null weight / kind breaks no rule


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A dbt project with the model `shapes` (a view over main.shapes_input) and its column rules."""
    root = tmp_path_factory.mktemp("column_rules")
    (root / "models").mkdir()
    (root / "tests" / "generic").mkdir(parents=True)
    (root / "macros").mkdir()
    shutil.copy(REPO / "dbt_project/tests/generic/exptrack_columns_valid.sql", root / "tests/generic")
    shutil.copy(REPO / "dbt_project/macros/exptrack_test_scope.sql", root / "macros")
    (root / "dbt_project.yml").write_text(
        'name: lab\nversion: "1.0.0"\nconfig-version: 2\nprofile: lab\n'
        'model-paths: ["models"]\nmacro-paths: ["macros"]\ntest-paths: ["tests"]\n'
    )
    (root / "profiles.yml").write_text(
        f"lab:\n  target: dev\n  outputs:\n    dev: {{type: duckdb, path: '{root / 'lab.duckdb'}', threads: 1}}\n"
    )
    (root / "models" / "shapes.sql").write_text("select * from {{ source('lab', 'shapes_input') }}\n")
    (root / "models" / "_lab.yml").write_text(RULES)
    return root


def build(project: Path, rows: str) -> tuple[str, int, list[tuple]]:
    """Load `rows` into main.shapes_input and `dbt build --store-failures`: the test's status, its failure count
    (offending rows summed over the broken rules) and the failing rows it stored (column, rule, failing_rows,
    failure)."""
    from dbt.cli.main import dbtRunner

    with duckdb.connect(str(project / "lab.duckdb")) as con:
        con.execute("create or replace table main.shapes_input (id integer, amount double, weight double, kind text)")
        con.execute(f"insert into main.shapes_input values {rows}")
    args = ["build", "--store-failures", "--project-dir", str(project), "--profiles-dir", str(project), "--quiet"]
    args += ["--target-path", str(project / "target"), "--log-path", str(project / "logs")]
    with _environ({"DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}):
        try:
            result = dbtRunner().invoke(args)
        finally:
            _release_duckdb()
    assert result.result is not None, f"dbt build did not run: {result.exception}"
    [test] = [r for r in result.result.results if r.node.resource_type == "test"]
    assert test.node.name == "columns_valid_shapes"
    assert str(test.status) in ("pass", "fail"), test.message  # an error is not a verdict
    with duckdb.connect(str(project / "lab.duckdb"), read_only=True) as con:
        stored = con.execute(
            "select column_name, rule, failing_rows, failure from main_dbt_test__audit.columns_valid_shapes "
            "order by column_name, rule"
        ).fetchall()
    return str(test.status), test.failures, stored


def test_clean_rows_pass(project):
    assert build(project, CLEAN) == ("pass", 0, [])


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (
            "(1, null, 1.5, 'a'), (2, 2.5, null, 'b'), (3, 1.0, 0.0, null)",
            ("amount", "not_null", 1, "column amount: 1 null rows"),
        ),
        (
            "(null, 0.0, 1.5, 'a'), (null, 2.5, null, 'b'), (3, 1.0, 0.0, null)",
            ("id", "not_null", 2, "column id: 2 null rows"),
        ),
        (
            "(1, 0.0, -1.5, 'a'), (2, 2.5, null, 'b'), (3, 1.0, 0.0, null)",
            ("weight", "non_negative", 1, "column weight: 1 negative rows"),
        ),
        (
            "(1, 0.0, 1.5, 'a'), (2, 2.5, null, 'c'), (3, 1.0, 0.0, null)",
            ("kind", "accepted_values", 1, "column kind: 1 unaccepted rows"),
        ),
    ],
    ids=["null", "two_nulls", "negative", "unaccepted"],
)
def test_one_bad_value_fails_naming_its_column_and_rule(project, rows, expected):
    assert build(project, rows) == ("fail", expected[2], [expected])


def test_every_broken_rule_is_a_row(project):
    """Two columns broken at once: one row per broken rule (amount breaks both its rules); the failure count is
    their offending rows, 1 + 1 + 2."""
    status, failures, stored = build(project, "(1, -2.0, 1.5, 'a'), (2, null, null, 'x'), (3, 1.0, 0.0, 'x')")
    assert (status, failures) == ("fail", 4)
    assert stored == [
        ("amount", "non_negative", 1, "column amount: 1 negative rows"),
        ("amount", "not_null", 1, "column amount: 1 null rows"),
        ("kind", "accepted_values", 2, "column kind: 2 unaccepted rows"),
    ]
