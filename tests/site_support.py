"""Helpers of the dashboard tests (import as `site_support`): read a page's elements with their inherited data-*
context."""

from __future__ import annotations

import math
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
CONTEXT = ("id", "data-experiment", "data-metric", "data-variant", "data-chart", "data-series", "data-check")


class Elements(HTMLParser):
    """Every element as (tag, own attributes, context = the CONTEXT attributes of it and its ancestors, nearest
    wins)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.items: list[tuple[str, dict, dict]] = []
        self._stack: list[tuple[str, dict]] = []
        self.feed(text)

    def _context(self, attrs: dict) -> dict:
        ctx: dict = {}
        for _, a in self._stack:
            ctx.update({k: v for k, v in a.items() if k in CONTEXT})
        ctx.update({k: v for k, v in attrs.items() if k in CONTEXT})
        return ctx

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.items.append((tag, a, self._context(a)))
        if tag not in VOID:
            self._stack.append((tag, a))

    def handle_startendtag(self, tag, attrs):
        a = dict(attrs)
        self.items.append((tag, a, self._context(a)))

    def handle_endtag(self, tag):
        for i in range(len(self._stack) - 1, -1, -1):
            if self._stack[i][0] == tag:
                del self._stack[i:]
                break

    def find(self, tag: str | None = None, **want) -> list[tuple[dict, dict]]:
        """(attrs, context) of elements whose attributes or context have the wanted values (data_x → data-x)."""
        want = {k.replace("_", "-"): v for k, v in want.items()}
        out = []
        for t, a, ctx in self.items:
            merged = {**ctx, **a}
            if (tag is None or t == tag) and all(merged.get(k) == v for k, v in want.items()):
                out.append((a, ctx))
        return out


def value(attrs: dict) -> float:
    """A data-value attribute as a float; '' (missing) reads as NaN."""
    text = attrs["data-value"]
    return float(text) if text else math.nan


def same(a: float, b: float) -> bool:
    """Equal numbers, or both missing (NaN/None)."""
    a = math.nan if a is None else float(a)
    b = math.nan if b is None else float(b)
    return (math.isnan(a) and math.isnan(b)) or a == b


def settings_env(settings) -> dict[str, str]:
    """The EXPTRACK_* variables that make the CLI use `settings`."""
    return {
        "EXPTRACK_RAW_DIR": str(settings.raw_dir),
        "EXPTRACK_EXPERIMENTS_DIR": str(settings.experiments_dir),
        "EXPTRACK_METRICS_FILE": str(settings.metrics_file),
        "EXPTRACK_WAREHOUSE": str(settings.warehouse),
        "EXPTRACK_OUTPUT_DIR": str(settings.output_dir),
    }


SHIP_LEARNING = "Counting other sign-ups builds trust with new visitors"
ROLLBACK_LEARNING = "The one-page layout hid the error messages"


def decided_copy(demo_run, root):
    """A copy of the demo warehouse in which two experiments are decided through the CLI with their learnings
    (signup_social_proof shipped, checkout_redesign rolled back), and the site built with `exptrack site`."""
    import shutil

    import pytest
    from pipeline_support import make_settings

    from exptrack_pipeline.cli import main

    settings = make_settings(root)
    settings.output_dir.mkdir(parents=True)
    shutil.copy(demo_run.warehouse, settings.warehouse)
    with pytest.MonkeyPatch.context() as mp:
        for name, v in settings_env(settings).items():
            mp.setenv(name, v)
        assert (
            main(
                [
                    "decide",
                    "signup_social_proof",
                    "ship",
                    "social_proof",
                    "--rationale",
                    "signups up, guardrail flat",
                    "--actor",
                    "@maria",
                    "--at",
                    "2026-11-16T10:00",
                    "--learned",
                    SHIP_LEARNING,
                    "--evidence",
                    "primary +30%, error_rate within tolerance",
                    "--follow-up",
                    "social proof on checkout; test the wording",
                ]
            )
            == 0
        )
        assert (
            main(
                [
                    "decide",
                    "checkout_redesign",
                    "rollback",
                    "--rationale",
                    "error rate up",
                    "--actor",
                    "@sam",
                    "--at",
                    "2026-11-25T09:00",
                    "--learned",
                    ROLLBACK_LEARNING,
                ]
            )
            == 0
        )
        assert main(["site", "--today", "2026-11-29"]) == 0
    return settings
