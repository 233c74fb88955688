"""Public surface of exptrack_pipeline.stats: names, docstrings, dependencies."""

from __future__ import annotations

import ast
import dataclasses
import inspect
from pathlib import Path

import numpy as np
import pytest

import exptrack_pipeline.stats as stats
from exptrack_pipeline.stats import (  # noqa: F401  (the pipeline imports exactly these)
    ArmStats,
    Comparison,
    adjust_pvalues,
    bayesian_summary,
    compare,
    compare_cuped,
    compare_sequential,
    expected_duration_days,
    mde_for_sample_size,
    sample_size_per_arm,
    srm_test,
)

PACKAGE = Path(stats.__file__).parent
ALLOWED = {"numpy", "scipy", "__future__", "dataclasses", "typing", "collections"}


def test_only_numpy_and_scipy_are_imported() -> None:
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                roots = {node.module.split(".")[0]}
            else:
                continue
            assert roots <= ALLOWED, (path.name, roots)
        assert len(path.read_text().splitlines()) < 400, path.name


def test_public_functions_are_typed_and_documented() -> None:
    for name in stats.__all__:
        obj = getattr(stats, name)
        assert obj.__doc__, name
        if inspect.isfunction(obj):
            sig = inspect.signature(obj)
            assert sig.return_annotation is not inspect.Signature.empty, name
            assert all(p.annotation is not inspect.Parameter.empty for p in sig.parameters.values()), name


def test_results_are_frozen() -> None:
    res = compare(ArmStats(100, 10, 10), ArmStats(100, 12, 12), kind="proportion")
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.p_value = np.array(0.0)  # type: ignore[misc]
