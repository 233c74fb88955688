"""Write one experiment's report files only when what they are made of changed (issue 16: a daily run costs what the
new day costs).

Rendering a report draws up to three matplotlib figures, most of the asset's CPU (BENCHMARKS.md "Branch
`reports_delta`"); an experiment that got no new data (concluded, archived, not started, or a re-run with nothing
new) renders the same files again. `publish` fingerprints what the report is made of — every frame of `ReportInputs`
(full CSV text: any changed value, row or column counts; floats to 10 significant digits, and rows as a set for
the frames the report sorts itself), the experiment's YAML, status, decision and traffic, and of
the portfolio-wide interaction stats the experiment's own corrected rows — with the rendering code's version
(`code_version`: the source of the modules and templates that turn inputs into files, the versions of the libraries
that draw and format them), and keeps the files when the fingerprint and the files' own hashes match the sidecar
`.<id>.render.json` written after the last render. Rendering is deterministic (PNGs carry no software/date metadata,
HTML and Markdown no timestamp), so a kept file is byte-identical to a fresh render; a changed input, a new code
version, or a deleted or edited output file re-renders.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import metadata, resources
from pathlib import Path

import pandas as pd

from exptrack_pipeline.reports.experiment import Rendered, ReportInputs, render
from exptrack_pipeline.reports.recommendation import lift_difference

SIDECAR_VERSION = 1  # bump when the sidecar's layout changes
LIBRARIES = ("matplotlib", "numpy", "pandas", "jinja2", "markupsafe", "tabulate")
# Significant digits of a float in the fingerprint. DuckDB's parallel sums differ in the last bits from one run to the
# next (segment_results of two copies of one warehouse after the same run: 25.592124318168196 vs 25.59212431816819);
# a report shows at most 4 significant digits and plots at < 1e-4 resolution, so noise below 1e-10 must not re-render.
FLOAT_DIGITS = 10
# Frames the report reads in an order of its own (sorted or summed over integer counts): their rows are compared as
# a set, since DuckDB returns them in any order. `results` (its tables keep the rows' order), `health` and
# `flag_changes` (ordered by their queries) are compared in order.
ORDER_FREE = ("retention", "cohorts", "segments", "novelty")
# What turns ReportInputs into files: (package, resource) pairs whose text is part of the code version.
CODE_FILES = (
    ("exptrack_pipeline.reports", "experiment.py"),
    ("exptrack_pipeline.reports", "plots.py"),
    ("exptrack_pipeline.reports", "recommendation.py"),
    ("exptrack_pipeline.reports", "document.py"),
    ("exptrack_pipeline.reports", "publish.py"),
    ("exptrack_pipeline.analysis", "decisions.py"),
    ("exptrack_pipeline.analysis", "heterogeneity.py"),
    ("exptrack_pipeline.site", "templating.py"),
    ("exptrack_pipeline.site", "charts.py"),
    ("exptrack_pipeline.site", "templates/document.html"),
    ("exptrack_pipeline.site", "static/site.css"),
)


@dataclass(frozen=True)
class Published:
    """One experiment's report after `publish`: rendered now or kept from an earlier identical render."""

    experiment_id: str
    rendered: bool  # False: the files on disk were kept
    files: tuple[str, ...]  # file names under the reports folder (HTML, Markdown, PNGs)
    key_table: str  # markdown, for the Dagster UI
    headline: str  # the recommendation's headline


@cache
def code_version() -> str:
    """A hash of the rendering code and templates (CODE_FILES) and of the drawing/formatting libraries' versions."""
    h = hashlib.sha256(f"sidecar {SIDECAR_VERSION}\n".encode())
    for package, name in CODE_FILES:
        h.update(f"{package}/{name}\n".encode())
        h.update((resources.files(package) / name).read_bytes())
    for library in LIBRARIES:
        try:
            version = metadata.version(library)
        except metadata.PackageNotFoundError:
            version = "absent"
        h.update(f"{library}=={version}\n".encode())
    return h.hexdigest()


def _frame_text(frame: pd.DataFrame | None, order_free: bool = False) -> str:
    """A frame's content for the fingerprint: columns, dtypes and every row, floats to FLOAT_DIGITS significant
    digits; rows sorted when the report does not depend on their order (`order_free`). 'None' for a missing frame."""
    if frame is None:
        return "None"
    rows = frame.to_csv(index=False, header=False, float_format=f"%.{FLOAT_DIGITS}g").splitlines()
    return f"{list(frame.columns)}\n{[str(t) for t in frame.dtypes]}\n" + "\n".join(
        sorted(rows) if order_free else rows
    )


_PORTFOLIO: dict[tuple[str, float], pd.DataFrame] = {}  # the last portfolio's corrected pairs (one entry)


def _interaction_text(inputs: ReportInputs) -> str:
    """What the report shows of the portfolio's interaction stats: this experiment's pairs after the correction over
    every pair (interaction_check's frame; its text is made from these rows). Another experiment's change that leaves
    this experiment's corrected rows alone does not re-render it. The portfolio's correction is computed once per
    table content and alpha, not once per report (the asset passes the same table to every report)."""
    e, stats = inputs.experiment, inputs.interaction
    if stats.empty:
        return "empty"
    content = hashlib.sha256(pd.util.hash_pandas_object(stats, index=False).to_numpy().tobytes())
    content.update(f"{list(stats.columns)}{[str(t) for t in stats.dtypes]}".encode())
    key = (content.hexdigest(), e.success_criteria.alpha)
    if key not in _PORTFOLIO:
        _PORTFOLIO.clear()
        _PORTFOLIO[key] = lift_difference(stats, "other_arm", "control", "treatment", key[1], per_experiment=False)
    frame = _PORTFOLIO[key]
    return _frame_text(frame[frame["experiment_id"] == e.id] if not frame.empty else frame)


def fingerprint(inputs: ReportInputs, version: str | None = None) -> str:
    """The hash of everything one report is rendered from: its inputs and the code version."""
    h = hashlib.sha256((version or code_version()).encode())
    parts = {
        "experiment": inputs.experiment.model_dump_json(),
        "status": inputs.status,
        "decision": json.dumps(inputs.decision, sort_keys=True, default=str),
        "daily_units": repr(inputs.daily_units),
    }
    for name in ("results", "retention", "cohorts", "segments", "novelty", "health", "flag_changes"):
        parts[name] = _frame_text(getattr(inputs, name), order_free=name in ORDER_FREE)
    parts["interaction"] = _interaction_text(inputs)
    for name, text in parts.items():
        h.update(f"\n--{name}--\n".encode())
        h.update(text.encode())
    return h.hexdigest()


def sidecar_path(folder: Path, experiment_id: str) -> Path:
    """Where the fingerprint of an experiment's last render is kept (a dot file beside its report)."""
    return folder / f".{experiment_id}.render.json"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _kept(folder: Path, experiment_id: str, print_: str) -> Published | None:
    """The earlier render when its fingerprint is `print_` and every file it wrote is still there, unchanged."""
    path = sidecar_path(folder, experiment_id)
    try:
        side = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if side.get("fingerprint") != print_ or not isinstance(side.get("files"), dict):
        return None
    for name, digest in side["files"].items():
        file = folder / name
        if not file.is_file() or _sha(file.read_bytes()) != digest:
            return None
    return Published(experiment_id, False, tuple(side["files"]), side["key_table"], side["headline"])


def write(folder: Path, rendered: Rendered, print_: str) -> Published:
    """Write a rendered report's files, then its sidecar (last: an interrupted write re-renders next time)."""
    files = {
        f"{rendered.experiment_id}.html": rendered.html.encode(),
        f"{rendered.experiment_id}.md": rendered.markdown.encode(),
        **rendered.images,
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    side = {
        "fingerprint": print_,
        "files": {name: _sha(data) for name, data in files.items()},
        "key_table": rendered.key_table,
        "headline": rendered.recommendation.headline,
    }
    sidecar_path(folder, rendered.experiment_id).write_text(json.dumps(side, indent=1, sort_keys=True))
    return Published(rendered.experiment_id, True, tuple(files), rendered.key_table, rendered.recommendation.headline)


def publish(folder: Path, inputs: ReportInputs, renderer: Callable[[ReportInputs], Rendered] = render) -> Published:
    """Keep the experiment's report files when their inputs and the code are unchanged, else render and write them."""
    folder.mkdir(parents=True, exist_ok=True)
    print_ = fingerprint(inputs)
    kept = _kept(folder, inputs.experiment.id, print_)
    return kept if kept is not None else write(folder, renderer(inputs), print_)
