"""Seeded synthetic demo data: a landing zone whose true effects are known (see `generate.generate_demo`)."""

from __future__ import annotations

from typing import Any

__all__ = ["DemoTruth", "generate_demo"]


def __getattr__(name: str) -> Any:  # lazy, so `python -m exptrack_pipeline.demo.generate` imports it once
    if name in __all__:
        from exptrack_pipeline.demo import generate

        return getattr(generate, name)
    raise AttributeError(name)
