"""`critpt-harness compare A B`: two runs, the paired test where both have per-problem outcomes,
the difference of means over epochs where only aggregates exist, and what cannot be concluded."""

from __future__ import annotations

import json
from typing import Any, Callable, List

from ..config.reading import COMPARE_FORMATS
from ..errors import ConfigError
from ..report.paired import ROW_HEADERS, Comparison, compare_run_data, rows
from ..report.render import Bullets, Document, Heading, Para, Table, to_markdown
from .folders import as_list, find_runs
from .summary import RunView, load, named

def two_runs(patterns: List[str], cfg: Any) -> List[RunView]:
    if len(patterns) != 2:
        raise ConfigError(f"compare needs exactly two run folders, got {len(patterns)}: "
                          "critpt-harness compare runs/A runs/B")
    found = [find_runs([p], "compare.runs") for p in patterns]
    for pattern, runs in zip(patterns, found):
        if len(runs) != 1:
            raise ConfigError(f"compare.runs: {pattern} names {len(runs)} run folders; name one run folder each")
    return named([load(runs[0], cfg.report) for runs in found])


def document(a: RunView, b: RunView, cmp: Comparison) -> Document:
    doc = Document(f"Comparison: {a.name} (A) and {b.name} (B)")
    doc.add(Bullets([f"A: {a.name}, `{a.path}`: {cmp.label_a}", f"B: {b.name}, `{b.path}`: {cmp.label_b}"]))
    table = rows(cmp)
    if table:
        doc.add(Table(ROW_HEADERS, table, align_right=(2, 3, 4, 6)))
    doc.add(Heading(1, "What this shows"), Bullets(cmp.statements))
    return doc


def text(doc: Document) -> str:
    """The document as plain terminal text."""
    out = [doc.title, ""]
    for block in doc.blocks:
        if isinstance(block, Bullets):
            out += [f"  - {item.replace('`', '')}" for item in block.items] + [""]
        elif isinstance(block, Heading):
            out += [block.text]
        elif isinstance(block, Para):
            out += [block.text, ""]
        elif isinstance(block, Table):
            widths = [max(len(h), *(len(r[i]) for r in block.rows)) for i, h in enumerate(block.headers)]
            line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()
            out += [line(block.headers)] + [line(r) for r in block.rows] + [""]
    return "\n".join(out).rstrip()


def cmd_compare(cfg: Any, echo: Callable[[str], None] = print) -> Comparison:
    c = cfg.compare
    if c.format not in COMPARE_FORMATS:
        raise ConfigError(f"compare.format={c.format!r}: use one of {', '.join(COMPARE_FORMATS)} (--format)")
    if not 0 < c.level < 1:
        raise ConfigError(f"compare.level={c.level}: a confidence level between 0 and 1, e.g. 0.95")
    a, b = two_runs(as_list(c.runs, "compare.runs"), cfg)
    cmp = compare_run_data(a.data, b.data, (a.name, b.name), c.level, (a.outcomes, b.outcomes))
    if c.format == "json":
        echo(json.dumps({**cmp.as_dict(), "path_a": str(a.path), "path_b": str(b.path)}, indent=1, default=str))
    elif c.format == "markdown":
        echo(to_markdown(document(a, b, cmp)).rstrip())
    else:
        echo(text(document(a, b, cmp)))
    return cmp
