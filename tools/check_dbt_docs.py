"""Every column of every mart, monitoring and lifecycle model and of every dbt source is described in the YAML.

    python tools/check_dbt_docs.py WAREHOUSE.duckdb

compares the columns the built warehouse really has (information_schema) with the `columns:` of
dbt_project/models/**/*.yml and prints each column without a description (and each described column that does
not exist); exit status 1 when there is any. tests/test_dbt_docs.py runs it on the test suite's demo warehouse.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

DBT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"
DESCRIBED_FOLDERS = ("marts", "monitoring", "lifecycle")  # every model column here needs a description
ENV_DEFAULT = re.compile(r"\{\{\s*env_var\('[^']+',\s*'([^']+)'\)\s*\}\}")


def _descriptions(entries: list[dict] | None) -> dict[str, str]:
    return {c["name"]: (c.get("description") or "").strip() for c in entries or []}


def documented(dbt_dir: Path = DBT_DIR) -> dict[tuple[str, str], dict[str, str]]:
    """(schema, table) → {column: description} for the models of DESCRIBED_FOLDERS (schema main) and every source."""
    out: dict[tuple[str, str], dict[str, str]] = {}
    for path in sorted((dbt_dir / "models").rglob("*.yml")):
        doc = yaml.safe_load(path.read_text()) or {}
        folder = path.parent.name
        for model in doc.get("models", []):
            if folder in DESCRIBED_FOLDERS:
                out[("main", model["name"])] = _descriptions(model.get("columns"))
        for source in doc.get("sources", []):
            schema = ENV_DEFAULT.sub(r"\1", str(source.get("schema", source["name"])))
            for table in source.get("tables", []):
                out[(schema, table["name"])] = _descriptions(table.get("columns"))
    return out


def models_in(dbt_dir: Path = DBT_DIR) -> set[str]:
    """Model names (SQL files) of DESCRIBED_FOLDERS: a model missing from the YAML is a problem too."""
    return {p.stem for folder in DESCRIBED_FOLDERS for p in (dbt_dir / "models" / folder).glob("*.sql")}


def problems(warehouse: Path, dbt_dir: Path = DBT_DIR) -> list[str]:
    """One line per undocumented, stale or missing column or model."""
    import duckdb

    docs = documented(dbt_dir)
    found = []
    for name in sorted(models_in(dbt_dir) - {t for s, t in docs if s == "main"}):
        found.append(f"main.{name}: model has no entry in its folder's YAML")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for (schema, table), described in sorted(docs.items()):
            columns = [
                r[0]
                for r in con.execute(
                    "select column_name from information_schema.columns where table_schema = ? and table_name "
                    "= ? order by ordinal_position",
                    [schema, table],
                ).fetchall()
            ]
            if not columns:
                found.append(f"{schema}.{table}: not in the warehouse (built by a demo run?)")
                continue
            found += [f"{schema}.{table}.{c}: no description" for c in columns if not described.get(c)]
            found += [f"{schema}.{table}.{c}: described but not a column" for c in described if c not in columns]
    return found


def main(argv: list[str]) -> int:
    """Print the undocumented dbt columns; exit 1 when there are any."""
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    found = problems(Path(argv[0]))
    for line in found:
        print(line)
    print(f"{len(found)} problem(s)" if found else "every column is described")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
