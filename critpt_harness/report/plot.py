"""The report's figure: the CritPt leaderboard as bars with the runs highlighted
and their 95% intervals drawn, and accuracy against cost where prices are known.

matplotlib is imported here only, when a plot is drawn (the CLI starts fast),
and through the Agg canvas directly, so no global backend is switched.
"""

from __future__ import annotations

import io
from typing import List, Optional

from .data import RunData
from .leaderboard import Entry

COLOURS = {"official": "#8c9bab", "catalog": "#e8b26a", "run": "#d1495b"}
LABELS = {"official": "official CritPt table", "catalog": "catalog snapshot", "run": "this report's run(s)"}


def _shorten(text: str, n: int = 44) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def draw(entries: List[Entry], runs: List[RunData], max_entries: int = 30, title: str = "CritPt") -> bytes:
    """PNG bytes of the figure."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    shown = _pick(entries, max_entries)
    # Only official, independent gradings of the full set stand beside the published bars.
    costed = [r for r in runs if r.stats.mean is not None and r.cost is not None and r.provenance.ranked]
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
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _pick(entries: List[Entry], max_entries: int) -> List[Entry]:
    """The best ``max_entries`` published entries, and every run wherever it ranks."""
    published = [e for e in entries if e.kind != "run"][: max(0, max_entries)]
    keep = {id(e) for e in published} | {id(e) for e in entries if e.kind == "run"}
    return [e for e in entries if id(e) in keep]


def png_size(png: bytes) -> Optional[tuple]:
    """(width, height) from a PNG header, or None when it is not a PNG."""
    if png[:8] != b"\x89PNG\r\n\x1a\n" or len(png) < 24:
        return None
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
