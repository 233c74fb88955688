"""Pure rendering of decision reports and portfolio summaries: frames in, strings/bytes out (no Dagster).

Files under EXPTRACK_OUTPUT_DIR (see `paths`): reports/<id>.html, reports/<id>.md and the PNGs beside it,
summaries/weekly_status.{md,html}, summaries/monthly_impact.{md,html}, summaries/portfolio_metrics.md,
handoffs/<id>.md, archive/<id>/. `where(settings)` says where they are (for `make demo`'s summary).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class OutputPaths:
    """The output folders under one root."""

    root: Path

    @property
    def reports(self) -> Path:
        """Experiment reports: <root>/reports."""
        return self.root / "reports"

    @property
    def summaries(self) -> Path:
        """Weekly and monthly summaries: <root>/summaries."""
        return self.root / "summaries"

    @property
    def archive(self) -> Path:
        """Write-once archives: <root>/archive."""
        return self.root / "archive"

    @property
    def handoffs(self) -> Path:
        """Implementation handoffs: <root>/handoffs."""
        return self.root / "handoffs"


def paths(settings) -> OutputPaths:
    """Output folders under `settings.output_dir` (EXPTRACK_OUTPUT_DIR)."""
    return OutputPaths(Path(settings.output_dir))


def where(settings) -> str:
    """A few lines naming the report, summary, handoff and archive files that exist (for the demo's summary)."""
    p = paths(settings)
    html = sorted(p.reports.glob("*.html")) if p.reports.is_dir() else []
    lines = [f"Reports ({len(html)} experiments, HTML + Markdown + PNG): {p.reports}"]
    lines += [f"  {f.stem:<24} {f}  |  {f.with_suffix('.md').name}" for f in html]
    for name in ("weekly_status", "monthly_impact", "portfolio_metrics"):
        f = p.summaries / f"{name}.md"
        if f.is_file():
            lines.append(
                f"{name.replace('_', ' ').capitalize() + ':':<20} {f}"
                + (f" (+ {f.with_suffix('.html').name})" if f.with_suffix(".html").is_file() else "")
            )
    if not html:
        lines.append("  none yet: run `exptrack run --start ... --end ...`")
    handoffs = sorted(p.handoffs.glob("*.md")) if p.handoffs.is_dir() else []
    archived = (
        sorted(d.name for d in p.archive.iterdir() if d.is_dir() and not d.name.startswith("."))
        if p.archive.is_dir()
        else []
    )
    lines.append(f"Handoffs: {', '.join(f.stem for f in handoffs) or 'none'} ({p.handoffs})")
    lines.append(f"Archive: {', '.join(archived) or 'none'} ({p.archive})")
    return "\n".join(lines)
