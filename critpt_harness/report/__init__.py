"""`critpt-harness report`: a run's CritPt score next to published leaderboards.

Modules: config (schema), data (run folder -> numbers; records: generations.jsonl),
catalog (what a stored snapshot publishes), cost, stats (mean/SE/t-interval),
leaderboard, sections and comparison (the text; fmt: numbers as printed), render
(Markdown/HTML), plot (matplotlib, imported lazily), command.
Kept import-light: importing this package loads neither matplotlib nor the data code.
"""

from .config import ReportConfig

__all__ = ["ReportConfig"]
