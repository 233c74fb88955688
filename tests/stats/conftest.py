"""Fixtures for the statistics-library tests."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240611)


@pytest.fixture
def warnings_as_errors() -> Iterator[None]:
    """Turn every warning (RuntimeWarning from numpy included) into an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="warn"):
            yield
