"""A tiny document model rendered to both Markdown and self-contained HTML (through the dashboard's Jinja2 templates),
so both formats say the same thing."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

import pandas as pd


@dataclass
class Table:
    """A table block: a frame of display strings and its HTML id."""

    frame: pd.DataFrame  # already formatted as strings
    table_id: str


@dataclass
class Image:
    """An image block: a PNG written beside the Markdown file."""

    name: str  # file name beside the Markdown
    png: bytes
    alt: str


@dataclass
class Document:
    """A report built block by block, rendered as Markdown or HTML."""

    title: str
    blocks: list[tuple[str, object]] = field(default_factory=list)

    def heading(self, text: str) -> None:
        """Add a section heading."""
        self.blocks.append(("h2", text))

    def para(self, text: str) -> None:
        """Add a paragraph."""
        self.blocks.append(("p", text))

    def bullets(self, items: list[str]) -> None:
        """Add a bullet list."""
        self.blocks.append(("ul", list(items)))

    def summary(self, text: str) -> None:
        """Add the summary quote."""
        self.blocks.append(("summary", text))

    def table(self, frame: pd.DataFrame, table_id: str) -> None:
        """Add a table."""
        self.blocks.append(("table", Table(frame, table_id)))

    def image(self, name: str, png: bytes, alt: str) -> None:
        """Add an image."""
        self.blocks.append(("img", Image(name, png, alt)))

    @property
    def images(self) -> dict[str, bytes]:
        """The images by file name."""
        return {b.name: b.png for kind, b in self.blocks if kind == "img"}  # type: ignore[union-attr]

    def markdown(self) -> str:
        """The document as Markdown."""
        out = [f"# {self.title}", ""]
        for kind, block in self.blocks:
            if kind == "h2":
                out += [f"## {block}", ""]
            elif kind in ("p", "summary"):
                out += [("> " if kind == "summary" else "") + str(block), ""]
            elif kind == "ul":
                out += [f"- {item}" for item in block] + [""]  # type: ignore[union-attr]
            elif kind == "table":
                frame = block.frame  # type: ignore[union-attr]
                out += [frame.to_markdown(index=False) if not frame.empty else "_none_", ""]
            elif kind == "img":
                out += [f"![{block.alt}]({block.name})", ""]  # type: ignore[union-attr]
        return "\n".join(out)

    def html(self) -> str:
        """One self-contained page from the dashboard's templates (site/templates/document.html): same CSS, no
        network."""
        from exptrack_pipeline.site.templating import render_document

        return render_document(self)


def data_uri_markdown(png: bytes, alt: str) -> str:
    """An image as a Markdown data URI (the Dagster UI renders it in asset metadata)."""
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode()})"
