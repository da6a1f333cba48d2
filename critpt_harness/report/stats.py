"""Mean, standard error and a t-interval over epochs.

Epochs are the independent repeats (the published numbers average 5 of them),
so the interval is Student's t over the per-epoch accuracies. The t quantile
is computed exactly for integer degrees of freedom (closed-form CDF), which
keeps scipy's slow import out of the report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Optional

from ..submission.results import summarize


@dataclass
class EpochStats:
    """Accuracies as fractions (0-1), like results.json."""

    n: int
    mean: Optional[float]
    stderr: Optional[float]  # sample std / sqrt(n); None for n < 2
    ci_low: Optional[float]  # 95% t-interval, clipped to [0, 1]
    ci_high: Optional[float]
    t_critical: Optional[float]
    level: float = 0.95

    @property
    def has_interval(self) -> bool:
        return self.ci_low is not None and self.ci_high is not None


def t_two_sided_mass(t: float, df: int) -> float:
    """P(-t < T < t) for Student's t with integer ``df`` (Abramowitz & Stegun 26.7.3-4)."""
    if df < 1:
        raise ValueError("df must be >= 1")
    theta = math.atan(abs(t) / math.sqrt(df))
    s, c = math.sin(theta), math.cos(theta)
    if df % 2 == 1:
        total, term = 0.0, c
        if df > 1:
            total = term
            for k in range(3, df - 1, 2):  # coefficients 2/3, 2*4/(3*5), ...
                term *= c * c * (k - 1) / k
                total += term
        return (2 / math.pi) * (theta + s * total)
    total, term = 1.0, 1.0
    for k in range(2, df - 1, 2):  # coefficients 1/2, 1*3/(2*4), ...
        term *= c * c * (k - 1) / k
        total += term
    return s * total


def t_critical(df: int, level: float = 0.95) -> float:
    """The t with P(|T| < t) = level (e.g. 2.776 for df=4)."""
    if not 0 < level < 1:
        raise ValueError("level must be in (0, 1)")
    low, high = 0.0, 1.0
    while t_two_sided_mass(high, df) < level:
        high *= 2
    for _ in range(200):  # bisection: the mass grows monotonically with t
        mid = (low + high) / 2
        if t_two_sided_mass(mid, df) < level:
            low = mid
        else:
            high = mid
        if high - low < 1e-12:
            break
    return (low + high) / 2


def epoch_stats(accuracies: List[float], level: float = 0.95) -> EpochStats:
    s = summarize(list(accuracies))
    n, mean, se = int(s["epochs_graded"] or 0), s["mean_accuracy"], s["stderr"]
    if mean is None or se is None:
        return EpochStats(n, mean, se, None, None, None, level)
    t = t_critical(n - 1, level)
    return EpochStats(n, mean, se, max(0.0, mean - t * se), min(1.0, mean + t * se), t, level)
