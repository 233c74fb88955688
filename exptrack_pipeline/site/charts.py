"""Chart geometry for the site's server-rendered SVG (templates/_charts.html draws it). Pure: frames in, plain dicts
out.

Every data point becomes an element with its value in a <title> (hover tooltip without JavaScript) and a
`data-value` attribute holding the exact number (the tests compare it with experiment_results); each series
carries its variant name so static/site.js can toggle it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
ROLE_ORDER = {"primary": 0, "secondary": 1, "guardrail": 2}
ROLE_COLORS = {"primary": "#1f77b4", "secondary": "#6f6f6f", "guardrail": "#d62728"}


class Scale:
    """Linear map of [lo, hi] onto [a, b] pixels."""

    def __init__(self, lo: float, hi: float, a: float, b: float) -> None:
        if not hi > lo:
            lo, hi = lo - 1.0, hi + 1.0
        self.lo, self.hi, self.a, self.b = lo, hi, a, b

    def __call__(self, v: float) -> float:
        """The position of value `v` on the axis."""
        return round(self.a + (v - self.lo) / (self.hi - self.lo) * (self.b - self.a), 2)


def ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """About `count` round tick values covering [lo, hi] (1, 2, 5 × 10^k steps)."""
    if not hi > lo:
        return [lo]
    raw = (hi - lo) / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    return [round(first + i * step, 12) for i in range(int((hi - first) / step + 1e-9) + 1)]


def _bounds(values: list[float], include_zero: bool = True) -> tuple[float, float]:
    finite = [v for v in values if v is not None and np.isfinite(v)] + ([0.0] if include_zero else [])
    lo, hi = (min(finite), max(finite)) if finite else (-1.0, 1.0)
    pad = (hi - lo) * 0.08 or 0.01
    return lo - pad, hi + pad


def _f(v: object) -> float | None:
    return None if v is None or pd.isna(v) else float(v)


def pct(v: float | None, digits: int = 1) -> str:
    """A relative value as a signed percentage ("n/a" when missing or not finite)."""
    return "n/a" if v is None or not np.isfinite(v) else f"{v * 100:+.{digits}f}%"


def forest(latest: pd.DataFrame, width: int = 760, label_width: int = 260, row_height: int = 26) -> dict:
    """Relative lift and its (multiplicity-adjusted) CI for every metric × variant at the latest analysis date."""
    rows = latest.assign(_r=latest["metric_role"].map(ROLE_ORDER)).sort_values(["_r", "metric_id", "variant"])
    lo, hi = _bounds([*rows["rel_lift"], *rows["rel_lift_ci_low"], *rows["rel_lift_ci_high"]])
    top, bottom = 10, 34
    height = top + bottom + row_height * max(len(rows), 1)
    x = Scale(lo, hi, label_width, width - 16)
    out = []
    for i, r in enumerate(rows.itertuples()):
        value, low, high = _f(r.rel_lift), _f(r.rel_lift_ci_low), _f(r.rel_lift_ci_high)
        out.append(
            {
                "label": f"{r.metric_id} · {r.variant}",
                "role": r.metric_role,
                "color": ROLE_COLORS.get(r.metric_role, "#333"),
                "variant": r.variant,
                "metric": r.metric_id,
                "y": top + row_height * i + row_height / 2,
                "cx": x(value) if value is not None else None,
                "x1": x(low) if low is not None else None,
                "x2": x(high) if high is not None else None,
                "value": value,
                "title": f"{r.metric_id} · {r.variant}: lift {pct(value)}, CI [{pct(low)}, {pct(high)}]",
            }
        )
    return {
        "width": width,
        "height": height,
        "zero": x(0.0),
        "plot_top": top,
        "plot_bottom": height - bottom,
        "ticks": [{"x": x(t), "label": f"{t * 100:g}%"} for t in ticks(lo, hi)],
        "rows": out,
        "label_width": label_width,
    }


def lines(
    frame: pd.DataFrame,
    x: str,
    y: str,
    band: tuple[str, str] | None = None,
    group: str = "variant",
    width: int = 760,
    height: int = 300,
    y_format: str = "lift",
    colors: dict[str, str] | None = None,
) -> dict:
    """One polyline per group (with an optional CI band) over x = dates or integers; y in shares (0.05 = 5%).
    `colors`: group → colour, so a variant keeps its colour across charts (default: the palette in order)."""
    left, right, top, bottom = 64, 16, 12, 36
    if frame.empty:
        return {"width": width, "height": height, "series": [], "xticks": [], "yticks": []}
    xs = pd.to_datetime(frame[x]) if not pd.api.types.is_numeric_dtype(frame[x]) else frame[x].astype(float)
    numeric = xs.map(lambda v: v.toordinal() if hasattr(v, "toordinal") else float(v)).astype(float)
    ys = [*frame[y]] + ([*frame[band[0]], *frame[band[1]]] if band else [])
    y_lo, y_hi = _bounds(ys, include_zero=y_format == "lift")
    sx, sy = (
        Scale(float(numeric.min()), float(numeric.max()), left, width - right),
        Scale(y_lo, y_hi, height - bottom, top),
    )
    fmt = pct if y_format == "lift" else (lambda v: "n/a" if v is None else f"{v * 100:.1f}%")
    series = []
    for i, (name, part) in enumerate(frame.assign(_x=numeric, _label=xs).sort_values("_x").groupby(group, sort=True)):
        pts = [
            {
                "cx": sx(r["_x"]),
                "cy": sy(float(r[y])),
                "value": float(r[y]),
                "title": f"{name}, {_xlabel(r['_label'])}: {fmt(float(r[y]))}"
                + (f" (CI {fmt(_f(r[band[0]]))} to {fmt(_f(r[band[1]]))})" if band else ""),
            }
            for _, r in part.iterrows()
            if pd.notna(r[y])
        ]
        band_path = None
        if band:
            ok = part[part[band[0]].notna() & part[band[1]].notna()]
            upper = [f"{sx(a)},{sy(float(b))}" for a, b in zip(ok["_x"], ok[band[1]], strict=True)]
            lower = [f"{sx(a)},{sy(float(b))}" for a, b in zip(ok["_x"][::-1], ok[band[0]][::-1], strict=True)]
            band_path = ("M" + " L".join(upper + lower) + " Z") if upper else None
        color = (colors or {}).get(str(name), PALETTE[i % len(PALETTE)])
        series.append(
            {
                "name": str(name),
                "color": color,
                "points": pts,
                "band": band_path,
                "path": "M" + " L".join(f"{p['cx']},{p['cy']}" for p in pts) if pts else "",
            }
        )
    x_ticks = sorted(set(numeric))
    step = max(1, len(x_ticks) // 6)
    labels = dict(zip(numeric, xs, strict=True))
    return {
        "width": width,
        "height": height,
        "left": left,
        "bottom": height - bottom,
        "top": top,
        "right": width - right,
        "zero": sy(0.0) if y_lo < 0 < y_hi else None,
        "series": series,
        "xticks": [{"x": sx(v), "label": _xlabel(labels[v])} for v in x_ticks[::step]],
        "yticks": [{"y": sy(t), "label": f"{t * 100:g}%"} for t in ticks(y_lo, y_hi)],
    }


def _xlabel(v: object) -> str:
    return f"{v:%m-%d}" if hasattr(v, "strftime") else f"day {int(v)}"
