"""Where exptrack reads and writes: one absolute path each, from environment variables."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel


def _path(name: str, default: str) -> Path:
    return Path(os.environ.get(name) or default).expanduser().resolve()


class Settings(BaseModel):
    """Paths of the landing zone, the experiment registry, the metric catalog and the warehouse.

    EXPTRACK_RAW_DIR (default data/raw), EXPTRACK_EXPERIMENTS_DIR (default experiments/),
    EXPTRACK_METRICS_FILE (default <experiments dir>/metrics.yaml),
    EXPTRACK_WAREHOUSE (default data/warehouse.duckdb), EXPTRACK_OUTPUT_DIR (default data/output).
    Relative paths resolve against the current directory, so dbt and Python see the same absolute file.
    """

    raw_dir: Path
    experiments_dir: Path
    metrics_file: Path
    warehouse: Path
    output_dir: Path

    @classmethod
    def from_env(cls) -> "Settings":
        experiments_dir = _path("EXPTRACK_EXPERIMENTS_DIR", "experiments")
        return cls(
            raw_dir=_path("EXPTRACK_RAW_DIR", "data/raw"),
            experiments_dir=experiments_dir,
            metrics_file=_path("EXPTRACK_METRICS_FILE", str(experiments_dir / "metrics.yaml")),
            warehouse=_path("EXPTRACK_WAREHOUSE", "data/warehouse.duckdb"),
            output_dir=_path("EXPTRACK_OUTPUT_DIR", "data/output"),
        )

    def export(self) -> None:
        """Write the resolved paths back to the environment so dbt's env_var() sees the same files."""
        os.environ["EXPTRACK_RAW_DIR"] = str(self.raw_dir)
        os.environ["EXPTRACK_EXPERIMENTS_DIR"] = str(self.experiments_dir)
        os.environ["EXPTRACK_METRICS_FILE"] = str(self.metrics_file)
        os.environ["EXPTRACK_WAREHOUSE"] = str(self.warehouse)
        os.environ["EXPTRACK_OUTPUT_DIR"] = str(self.output_dir)
