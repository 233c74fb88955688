"""`make demo` shows and computes what it did before the refactors of issue 13: the summary and results text and
every row of experiment_results match the reference in tests/golden/ (written by tests/demo_fingerprint.py)."""

from __future__ import annotations

import os

import pytest
from demo_fingerprint import GOLDEN, fingerprint, frame_differences


@pytest.mark.skipif(
    float(os.environ.get("EXPTRACK_TEST_SCALE", "1.0")) != 1.0, reason="the reference is of the demo at scale 1"
)
def test_demo_output_and_results_match_the_reference(demo_run):
    current = fingerprint(demo_run.warehouse)
    assert current["demo_summary.txt"] == (GOLDEN / "demo_summary.txt").read_text()
    assert current["demo_results.txt"] == (GOLDEN / "demo_results.txt").read_text()
    assert (
        frame_differences((GOLDEN / "demo_experiment_results.csv").read_text(), current["demo_experiment_results.csv"])
        == []
    )
