"""A tiny document model rendered to both Markdown and self-contained HTML, so both formats say the same thing."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field

import pandas as pd

CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1000px;margin:2em auto;color:#222;line-height:1.45}
table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.88em}th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}.summary{background:#f6f9ff;border-left:4px solid #1f77b4;padding:.6em 1em}
code{background:#f3f3f3;padding:0 3px}img{max-width:100%}
"""


@dataclass
class Table:
    frame: pd.DataFrame  # already formatted as strings
    table_id: str


@dataclass
class Image:
    name: str  # file name beside the Markdown
    png: bytes
    alt: str


@dataclass
class Document:
    title: str
    blocks: list[tuple[str, object]] = field(default_factory=list)

    def heading(self, text: str) -> None:
        self.blocks.append(("h2", text))

    def para(self, text: str) -> None:
        self.blocks.append(("p", text))

    def bullets(self, items: list[str]) -> None:
        self.blocks.append(("ul", list(items)))

    def summary(self, text: str) -> None:
        self.blocks.append(("summary", text))

    def table(self, frame: pd.DataFrame, table_id: str) -> None:
        self.blocks.append(("table", Table(frame, table_id)))

    def image(self, name: str, png: bytes, alt: str) -> None:
        self.blocks.append(("img", Image(name, png, alt)))

    @property
    def images(self) -> dict[str, bytes]:
        return {b.name: b.png for kind, b in self.blocks if kind == "img"}  # type: ignore[union-attr]

    def markdown(self) -> str:
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
        out = [f"<!doctype html><html><head><meta charset='utf-8'><title>{_inline(self.title)}</title><style>{CSS}</style></head><body>",
               f"<h1>{_inline(self.title)}</h1>"]
        for kind, block in self.blocks:
            if kind == "h2":
                out.append(f"<h2>{_inline(str(block))}</h2>")
            elif kind == "p":
                out.append(f"<p>{_inline(str(block))}</p>")
            elif kind == "summary":
                out.append(f"<p class='summary'>{_inline(str(block))}</p>")
            elif kind == "ul":
                out.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in block) + "</ul>")  # type: ignore[union-attr]
            elif kind == "table":
                out.append(_html_table(block))  # type: ignore[arg-type]
            elif kind == "img":
                data = base64.b64encode(block.png).decode()  # type: ignore[union-attr]
                out.append(f"<p><img alt='{html.escape(block.alt)}' src='data:image/png;base64,{data}'></p>")  # type: ignore[union-attr]
        out.append("</body></html>")
        return "\n".join(out)


def _inline(text: str) -> str:
    """Escape, then render **bold** and `code` spans."""
    parts = html.escape(text).split("`")
    text = "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))
    bold = text.split("**")
    return "".join(f"<strong>{p}</strong>" if i % 2 else p for i, p in enumerate(bold))


def _html_table(table: Table) -> str:
    frame = table.frame
    if frame.empty:
        return "<p><em>none</em></p>"
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>" for row in frame.itertuples(index=False))
    return f"<table id='{table.table_id}'><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def data_uri_markdown(png: bytes, alt: str) -> str:
    """An image as a Markdown data URI (the Dagster UI renders it in asset metadata)."""
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode()})"
