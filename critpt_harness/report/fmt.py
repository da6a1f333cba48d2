"""Numbers as the report prints them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from .data import RunData


def pct(x: Optional[float], digits: int = 2) -> str:
    return "–" if x is None else f"{100 * x:.{digits}f}%"


def usd(x: Optional[float]) -> str:
    if x is None:
        return "–"
    return f"${x:,.4f}" if abs(x) < 1 else f"${x:,.2f}"


def num(x: Optional[float], digits: int = 0) -> str:
    return "–" if x is None else f"{x:,.{digits}f}"


def seconds(x: Optional[float]) -> str:
    if x is None:
        return "–"
    if x < 120:
        return f"{x:.1f} s"
    return f"{x / 60:.1f} min" if x < 7200 else f"{x / 3600:.2f} h"


def interval(run: RunData) -> str:
    s = run.stats
    if not s.has_interval:
        return "– (needs 2 or more graded epochs)" if run.graded else "–"
    return f"{pct(s.ci_low)} – {pct(s.ci_high)}"
