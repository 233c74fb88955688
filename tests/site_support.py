"""Helpers of the dashboard tests (import as `site_support`): read a page's elements with their inherited data-* context."""

from __future__ import annotations

import math
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
CONTEXT = ("id", "data-experiment", "data-metric", "data-variant", "data-chart", "data-series", "data-check")


class Elements(HTMLParser):
    """Every element as (tag, own attributes, context = the CONTEXT attributes of it and its ancestors, nearest wins)."""

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
