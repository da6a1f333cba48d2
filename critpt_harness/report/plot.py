"""The report's figure: the CritPt leaderboard as bars with the runs highlighted
and their 95% intervals drawn, and accuracy against cost where prices are known.

matplotlib is imported here only, when a plot is drawn (the CLI starts fast),
and through the Agg canvas directly, so no global backend is switched. A report
made again from unchanged numbers reuses its report.png (the figure's inputs are
hashed into it), so matplotlib, half a second of a report, is not loaded then.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import asdict
from pathlib import Path
from typing import List, Optional

from .data import RunData
from .leaderboard import Entry

COLOURS = {"official": "#8c9bab", "catalog": "#e8b26a", "run": "#d1495b"}
LABELS = {"official": "official CritPt table", "catalog": "catalog snapshot", "run": "this report's run(s)"}


def _shorten(text: str, n: int = 44) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


KEY = "critpt-harness figure"  # the PNG text chunk holding the hash of what the figure shows


def figure(entries: List[Entry], runs: List[RunData], max_entries: int, title: str, previous: Path) -> bytes:
    """PNG bytes of the figure: ``previous`` (an earlier report.png) when drawn from the same inputs."""
    key = _inputs_key(entries, runs, max_entries, title)
    if previous.is_file():
        old = previous.read_bytes()
        if png_text(old, KEY) == key:
            return old
    return draw(entries, runs, max_entries, title, key)


def _inputs_key(entries: List[Entry], runs: List[RunData], max_entries: int, title: str) -> str:
    """A hash of everything draw() reads, of this module's code and of matplotlib's version."""
    from importlib.metadata import version

    shown = [(r.label, asdict(r.stats), r.cost.total_usd if r.cost else None, r.provenance.ranked) for r in runs]
    text = json.dumps([[asdict(e) for e in entries], shown, max_entries, title, version("matplotlib")], default=str)
    return hashlib.sha256(text.encode() + Path(__file__).read_bytes()).hexdigest()


def _costed(runs: List[RunData]) -> List[RunData]:
    """The runs of the accuracy-vs-cost panel: only official, independent gradings of the full set
    stand beside the published bars, and only those with a price."""
    return [r for r in runs if r.stats.mean is not None and r.cost is not None and r.provenance.ranked]


def describe(entries: List[Entry], runs: List[RunData], max_entries: int) -> str:
    """The figure's alt text: what draw() puts in it, and nothing it leaves out."""
    shown = _pick(entries, max_entries)
    published = [e for e in shown if e.kind != "run"]
    mine = [e.name for e in shown if e.kind == "run"]
    text = f"CritPt leaderboard: {len(published)} published score{'s' if len(published) != 1 else ''} as bars"
    if mine:
        text += f", with {', '.join(mine)} highlighted and {'its' if len(mine) == 1 else 'their'} 95% interval"
    else:
        text += ("; no run of this report is drawn (only official gradings of the full public set with "
                 "independent epochs are)")
    costed = _costed(runs)
    if costed:
        text += f"; beside it, accuracy against cost for {', '.join(r.label for r in costed)}"
    return text


def draw(entries: List[Entry], runs: List[RunData], max_entries: int = 30, title: str = "CritPt",
         key: Optional[str] = None) -> bytes:
    """PNG bytes of the figure (``key``: stored in it for figure())."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    shown = _pick(entries, max_entries)
    costed = _costed(runs)
    bar_height = max(3.0, 0.32 * len(shown) + 1.4)
    width = 13.0 if costed else 8.5
    fig = Figure(figsize=(width, bar_height), dpi=100)
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(1, 2, width_ratios=[1.35, 1]) if costed else fig.add_gridspec(1, 1)

    ax = fig.add_subplot(grid[0, 0])
    ys = list(range(len(shown)))[::-1]  # best at the top
    ax.barh(ys, [e.percent for e in shown], color=[COLOURS[e.kind] for e in shown], height=0.7)
    for y, e in zip(ys, shown):
        if e.kind == "run" and e.ci_low is not None and e.ci_high is not None:
            ax.errorbar(e.percent, y, xerr=[[e.percent - e.ci_low], [e.ci_high - e.percent]], fmt="none",
                        ecolor="#222222", capsize=4, lw=1.2)
        at = e.ci_high if e.kind == "run" and e.ci_high is not None else e.percent  # clear of the whisker
        ax.text(at, y, f" {e.percent:.2f}" if e.kind == "run" else f" {e.percent:.1f}", va="center",
                fontsize=7.5, fontweight="bold" if e.kind == "run" else "normal")
    ax.set_yticks(ys)
    ax.set_yticklabels([_shorten(e.name) for e in shown], fontsize=8)
    for tick, e in zip(ax.get_yticklabels(), shown):
        if e.kind == "run":
            tick.set_fontweight("bold")
            tick.set_color(COLOURS["run"])
    ax.set_xlabel("CritPt accuracy (%)  — runs: mean over epochs, bar = 95% t-interval")
    ax.set_title(f"{title}: leaderboard", fontsize=10)
    ax.set_xlim(0, max([e.ci_high or e.percent for e in shown] + [1.0]) * 1.18)
    ax.grid(axis="x", alpha=0.3)
    kinds = [k for k in ("official", "catalog", "run") if any(e.kind == k for e in shown)]
    ax.legend(handles=[Patch(color=COLOURS[k], label=LABELS[k]) for k in kinds], fontsize=7, loc="lower right")

    if costed:
        ax2 = fig.add_subplot(grid[0, 1])
        for r in costed:
            y = 100 * (r.stats.mean or 0.0)  # type: ignore[assignment]  # reuses the int loop name above
            x = r.cost.total_usd if r.cost else 0.0
            yerr = None
            if r.stats.ci_low is not None and r.stats.ci_high is not None:
                yerr = [[y - 100 * r.stats.ci_low], [100 * r.stats.ci_high - y]]
            ax2.errorbar(x, y, yerr=yerr, fmt="o", color=COLOURS["run"], ecolor="#222222", capsize=4)
            ax2.annotate(_shorten(r.label, 28), (x, y), textcoords="offset points", xytext=(6, 4), fontsize=7.5)
        ax2.set_xlabel("cost of the run (USD, all epochs, priced per 1M tokens)")
        ax2.set_ylabel("CritPt accuracy (%)")
        ax2.set_title("accuracy vs cost", fontsize=10)
        top_cost = max(r.cost.total_usd for r in costed if r.cost) or 1.0
        top_acc = max(100 * (r.stats.ci_high if r.stats.ci_high is not None else r.stats.mean or 0.0)
                      for r in costed) or 1.0
        ax2.set_xlim(0, top_cost * 1.35)
        ax2.set_ylim(0, top_acc * 1.2)
        ax2.grid(alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={KEY: key} if key else None)
    return buf.getvalue()


def _pick(entries: List[Entry], max_entries: int) -> List[Entry]:
    """The best ``max_entries`` published entries, and every run wherever it ranks."""
    published = [e for e in entries if e.kind != "run"][: max(0, max_entries)]
    keep = {id(e) for e in published} | {id(e) for e in entries if e.kind == "run"}
    return [e for e in entries if id(e) in keep]


def png_text(png: bytes, keyword: str) -> Optional[str]:
    """The text of a PNG tEXt chunk, or None."""
    at = 8
    while png[:8] == b"\x89PNG\r\n\x1a\n" and at + 8 <= len(png):
        length, kind = int.from_bytes(png[at:at + 4], "big"), png[at + 4:at + 8]
        data = png[at + 8:at + 8 + length]
        if kind == b"tEXt" and data.partition(b"\0")[0] == keyword.encode("latin-1"):
            return data.partition(b"\0")[2].decode("latin-1")
        if kind in (b"IDAT", b"IEND"):  # matplotlib writes its text chunks before the image data
            return None
        at += 12 + length
    return None


def png_size(png: bytes) -> Optional[tuple]:
    """(width, height) from a PNG header, or None when it is not a PNG."""
    if png[:8] != b"\x89PNG\r\n\x1a\n" or len(png) < 24:
        return None
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
