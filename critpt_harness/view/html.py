"""The viewer's HTML pieces: escaping, links, the page frame, tables and grid cells.

Pages are plain HTML navigated by links and GET forms: no script at all, one stylesheet served
by the app, and a Content-Security-Policy that lets the browser load nothing from anywhere else.
"""

from __future__ import annotations

import html
from typing import Any, Dict, Iterable, Optional, Sequence
from urllib.parse import urlencode

from ..report.outcomes import CORRECT, ItemOutcome

CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; "
       "frame-ancestors 'none'")
STYLESHEET = "/static/viewer.css"


def esc(value: Any) -> str:
    return "" if value is None else html.escape(str(value))


def url(path: str, **params: Any) -> str:
    kept = {k: v for k, v in params.items() if v is not None and v != ""}
    return path + ("?" + urlencode(kept) if kept else "")


def link(href: str, text: Any, cls: str = "", title: str = "") -> str:
    attrs = (f' class="{esc(cls)}"' if cls else "") + (f' title="{esc(title)}"' if title else "")
    return f'<a href="{esc(href)}"{attrs}>{esc(text)}</a>'


def page(title: str, body: str, refresh: int = 0) -> str:
    meta = f'<meta http-equiv="refresh" content="{int(refresh)}">' if refresh > 0 else ""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'{meta}<title>{esc(title)} · critpt-harness view</title>'
            f'<link rel="stylesheet" href="{STYLESHEET}"></head><body>'
            f'<nav>{link("/", "runs")} · {link("/compare", "compare two runs")}</nav>'
            f"<h1>{esc(title)}</h1>\n{body}\n</body></html>\n")


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], cls: str = "") -> str:
    """A table of cells that are already HTML."""
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{esc(cls)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def facts(pairs: Sequence[Sequence[str]]) -> str:
    """A definition list of (name, HTML value)."""
    return "<dl>" + "".join(f"<dt>{esc(k)}</dt><dd>{v}</dd>" for k, v in pairs) + "</dl>"


def select(name: str, options: Sequence[Sequence[str]], chosen: Optional[str] = None, label: str = "") -> str:
    opts = "".join(f'<option value="{esc(v)}"{" selected" if v == chosen else ""}>{esc(t)}</option>'
                   for v, t in options)
    return f'<label>{esc(label)} <select name="{esc(name)}">{opts}</select></label>'


# Grid cells ---------------------------------------------------------------------------------------
def cell_state(o: ItemOutcome) -> str:
    """The colour class of a grid cell: the most telling thing known about the item."""
    if o.verdict is not None:
        return "correct" if o.verdict == CORRECT else "wrong"
    if o.generation == "failed":
        return "failed"
    if o.checks_passed is False or o.static_passed is False or o.executed == "fail":
        return "checks-fail"
    if o.checks_passed:
        return "checks-pass"
    return "generated" if o.generation == "ok" else "missing"


def cell_words(o: ItemOutcome) -> Dict[str, str]:
    static = {None: "no checks", True: "passed", False: "failed: " + ", ".join(o.static_failed or [])}
    return {"generation": o.generation or "no record",
            "static checks": static[o.static_passed],
            "executed": o.executed or "not run",
            "pre-submission checks": {None: "not assembled", True: "all passed",
                                      False: "; ".join(o.check_failures) or "failed"}[o.checks_passed],
            "local verdict": (o.verdict + (f" ({o.verdict_reason})" if o.verdict_reason else "")) if o.verdict
            else "not graded here"}


CELL_TEXT = {"correct": "✓", "wrong": "✗", "failed": "failed", "checks-fail": "checks ✗", "checks-pass": "checks ✓",
             "generated": "answered", "missing": "–"}
LEGEND = (("correct", "correct (local grading)"), ("wrong", "not correct (local grading)"),
          ("checks-pass", "checks passed (not graded here)"), ("checks-fail", "a check failed"),
          ("generated", "answered, not checked yet"), ("failed", "generation failed"), ("missing", "no record"))


def cell(o: ItemOutcome, href: Optional[str]) -> str:
    state = cell_state(o)
    title = "; ".join(f"{k}: {v}" for k, v in cell_words(o).items())
    text = CELL_TEXT[state]
    if o.verdict is not None and o.verdict != CORRECT:
        text = o.verdict.replace("_", " ")
    if href is None or state == "missing":
        return f'<span class="cell {state}" title="{esc(title)}">{esc(text)}</span>'
    return link(href, text, f"cell {state}", title)


def legend() -> str:
    return '<p class="legend">' + " ".join(f'<span class="cell {k}">{esc(CELL_TEXT[k])}</span> {esc(v)}'
                                           for k, v in LEGEND) + "</p>"
