"""Typed config for `critpt-harness report` (Hydra group ``report``).

Only OmegaConf-compatible types (no Unions), so the YAML in ``configs/report/``
is validated against this schema like every other group.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, List, Optional

FORMATS = ("md", "html", "json")


@dataclass
class ModelPrice:
    """Per-million-token prices (USD) for one model, used when its catalog entry has none."""

    # Matched against the run's model label, then its name (case-insensitive).
    model: str = ""
    input_per_million: Optional[float] = None
    output_per_million: Optional[float] = None


@dataclass
class ReportConfig:
    # (Any, not List[str], so that one unbracketed glob is accepted as it is typed.)

    # Run folders or globs: report.runs=runs/*/* or report.runs='[runs/a/*,runs/b/*]'; empty = the run_dir.
    runs: Any = field(default_factory=list)
    # Where a report over several runs goes; empty = runs/reports/<UTC time>.
    # A single run's report goes into its own folder unless this is set.
    output_dir: Optional[str] = None
    # Prices for every run's model when the catalog snapshot has none (USD per million tokens).
    input_price_per_million: Optional[float] = None
    output_price_per_million: Optional[float] = None
    # The same per model, for multi-run reports: [{model: gpt-4o, input_per_million: 2.5, ...}].
    prices: List[ModelPrice] = field(default_factory=list)
    # true = prices from this config win over the catalog snapshot's.
    prefer_config_prices: bool = False
    # A catalog snapshot folder for runs that have none of their own (e.g. runs/catalog/2026-01-01).
    catalog_dir: Optional[str] = None
    # A CritPt table to use instead of the shipped official one (same JSON shape).
    leaderboard_file: Optional[str] = None
    # Include CritPt scores published in the catalog snapshot in the leaderboard.
    leaderboard_from_catalogs: bool = True
    # Bars drawn in the plot (the run's own bars are always drawn).
    plot_max_entries: int = 30
    plot: bool = True  # draw report.png (the leaderboard with the ranked runs and their intervals)
    # Any of md, html, json.
    formats: List[str] = field(default_factory=lambda: ["md", "html"])
    # Print the short table at the end.
    print_table: bool = True
