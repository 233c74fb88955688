"""What `make demo` shows and computes, in a form two runs can be compared by: the `exptrack summary` and
`exptrack results` text and every row of `experiment_results` (sorted, floats to 15 significant digits; compared
to 1e-9 relative, as the DuckDB/PostgreSQL parity test does: parallel sums differ in the last bits between runs).

`python tests/demo_fingerprint.py WAREHOUSE [--write]` prints the fingerprint of a demo warehouse (seed 7, scale 1,
2026-10-18..2026-11-24), or writes it to tests/golden/ as the reference test_behaviour_unchanged.py compares with.
Regenerate the reference only for a change meant to alter the numbers or the text, and say so in the commit.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
from pathlib import Path

GOLDEN = Path(__file__).resolve().parent / "golden"
RESULT_KEYS = ["experiment_id", "metric_id", "variant", "analysis_date"]


def experiment_results_csv(warehouse: Path) -> str:
    """Every row of main.experiment_results in key order, floats to 12 significant digits (platform-stable)."""
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        frame = con.execute("select * from main.experiment_results").df()
    frame = frame.sort_values(RESULT_KEYS, kind="stable").reset_index(drop=True)
    return frame.to_csv(index=False, float_format="%.15g")


def cli_output(warehouse: Path, *args: str) -> str:
    """Stdout of `exptrack ARGS` against the warehouse file, as a user sees it."""
    env = {**os.environ, "EXPTRACK_WAREHOUSE": str(warehouse), "EXPTRACK_DBT_TARGET": "duckdb"}
    proc = subprocess.run(
        [sys.executable, "-m", "exptrack_pipeline.cli", *args], env=env, capture_output=True, text=True, check=True
    )
    return proc.stdout


def fingerprint(warehouse: Path) -> dict[str, str]:
    """{file name in tests/golden: content} for one demo warehouse."""
    return {
        "demo_summary.txt": cli_output(warehouse, "summary"),
        "demo_results.txt": cli_output(warehouse, "results"),
        "demo_experiment_results.csv": experiment_results_csv(warehouse),
    }


def frame_differences(reference_csv: str, current_csv: str, rtol: float = 1e-9, atol: float = 1e-12) -> list[str]:
    """Columns and rows where two experiment_results CSVs differ: text exactly, numbers beyond the tolerance."""
    import numpy as np
    import pandas as pd

    ref, cur = pd.read_csv(io.StringIO(reference_csv)), pd.read_csv(io.StringIO(current_csv))
    if list(ref.columns) != list(cur.columns) or len(ref) != len(cur):
        return [f"shape or columns differ: {ref.shape} {list(ref.columns)} vs {cur.shape} {list(cur.columns)}"]
    out = []
    for column in ref.columns:
        a, b = ref[column], cur[column]
        if pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b) and not pd.api.types.is_bool_dtype(a):
            same = np.isclose(a.to_numpy(float), b.to_numpy(float), rtol=rtol, atol=atol, equal_nan=True)
        else:
            same = (a.astype(str) == b.astype(str)).to_numpy()
        out += [f"{column} row {i}: {a[i]!r} != {b[i]!r}" for i in np.flatnonzero(~same)[:5]]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("--write", action="store_true", help="write the fingerprint to tests/golden/")
    args = parser.parse_args()
    for name, content in fingerprint(args.warehouse).items():
        if args.write:
            GOLDEN.mkdir(exist_ok=True)
            (GOLDEN / name).write_text(content)
        else:
            print(f"== {name}\n{content}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
