"""A tiny document model rendered twice: Markdown, and self-contained HTML
(inline CSS, the plot embedded as a base64 PNG), so both files say the same.
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Union


@dataclass
class Heading:
    level: int
    text: str


@dataclass
class Para:
    text: str


@dataclass
class Bullets:
    items: List[str]


@dataclass
class Table:
    headers: List[str]
    rows: List[List[str]]
    align_right: Sequence[int] = ()  # column indexes of numbers


@dataclass
class Image:
    png: bytes
    alt: str
    file: Optional[str] = None  # the PNG beside report.md (Markdown links it)


Block = Union[Heading, Para, Bullets, Table, Image]


@dataclass
class Document:
    title: str
    blocks: List[Block] = field(default_factory=list)

    def add(self, *blocks: Block) -> None:
        self.blocks.extend(blocks)


# Markdown ---------------------------------------------------------------------------------------
def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]], align_right: Sequence[int] = ()) -> List[str]:
    """The lines of a Markdown table (cells escaped)."""
    out = ["| " + " | ".join(_md_cell(h) for h in headers) + " |",
           "| " + " | ".join("---:" if i in align_right else "---" for i in range(len(headers))) + " |"]
    return out + ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]


def to_markdown(doc: Document) -> str:
    out = [f"# {doc.title}", ""]
    for b in doc.blocks:
        if isinstance(b, Heading):
            out += [f"{'#' * (b.level + 1)} {b.text}", ""]
        elif isinstance(b, Para):
            out += [b.text, ""]
        elif isinstance(b, Bullets):
            out += [f"- {item}" for item in b.items] + [""]
        elif isinstance(b, Table):
            out += markdown_table(b.headers, b.rows, b.align_right) + [""]
        elif isinstance(b, Image):
            if b.file:
                out += [f"![{b.alt}]({b.file})", ""]
    return "\n".join(out).rstrip() + "\n"


# HTML --------------------------------------------------------------------------------------------
_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#1b1f24;line-height:1.45}
h1{font-size:1.6em;border-bottom:1px solid #d0d7de;padding-bottom:.3em}
h2{font-size:1.3em;margin-top:1.6em;border-bottom:1px solid #eaeef2}h3{font-size:1.1em;margin-top:1.3em}
table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.92em}
th,td{border:1px solid #d0d7de;padding:4px 8px;vertical-align:top}th{background:#f6f8fa;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}
code{background:#f6f8fa;padding:0 .25em;border-radius:3px;font-size:.92em}
img{max-width:100%;height:auto;border:1px solid #eaeef2}
"""
_CODE = re.compile(r"`([^`]+)`")
_BOLD = re.compile(r"\*\*([^*]+)\*\*")
_URL = re.compile(r"(https?://[^\s<>()\"']+[^\s<>()\"'.,;:])")


def _inline(text: str) -> str:
    """Escape, then the three Markdown forms the report uses: `code`, **bold** and bare URLs."""
    out = html.escape(text, quote=False)
    out = _CODE.sub(r"<code>\1</code>", out)
    out = _BOLD.sub(r"<strong>\1</strong>", out)
    return _URL.sub(r'<a href="\1">\1</a>', out)


def png_data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def to_html(doc: Document) -> str:
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{html.escape(doc.title)}</title><style>{_CSS}</style></head><body>",
           f"<h1>{html.escape(doc.title)}</h1>"]
    for b in doc.blocks:
        if isinstance(b, Heading):
            level = min(b.level + 1, 6)
            out.append(f"<h{level}>{_inline(b.text)}</h{level}>")
        elif isinstance(b, Para):
            out.append(f"<p>{_inline(b.text)}</p>")
        elif isinstance(b, Bullets):
            out.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in b.items) + "</ul>")
        elif isinstance(b, Table):
            head = "".join(f"<th>{_inline(h)}</th>" for h in b.headers)
            rows = "".join("<tr>" + "".join(
                f'<td class="num">{_inline(c)}</td>' if i in b.align_right else f"<td>{_inline(c)}</td>"
                for i, c in enumerate(row)) + "</tr>" for row in b.rows)
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        elif isinstance(b, Image):
            out.append(f'<p><img src="{png_data_uri(b.png)}" alt="{html.escape(b.alt)}"></p>')
    out.append("</body></html>")
    return "\n".join(out) + "\n"
