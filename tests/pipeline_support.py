"""Helpers shared by test modules (import as `pipeline_support`; every conftest.py is a module named `conftest`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class PipelineRun:
    settings: object
    truth: dict

    @property
    def warehouse(self) -> Path:
        return self.settings.warehouse

    def query(self, sql: str, params: list | None = None):
        import duckdb

        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            return con.execute(sql, params or []).df()


def make_settings(root: Path, experiments_dir: Path | None = None):
    from exptrack_pipeline.config import Settings

    experiments_dir = experiments_dir or REPO / "experiments"
    return Settings(
        raw_dir=root / "raw",
        experiments_dir=experiments_dir,
        metrics_file=experiments_dir / "metrics.yaml",
        warehouse=root / "warehouse.duckdb",
        output_dir=root / "output",
    )
