"""`critpt-harness report`: a run's CritPt score next to published leaderboards.

Modules: data (run folder -> numbers; records: generations.jsonl),
catalog (what a stored snapshot publishes), cost, stats (mean/SE/t-interval),
leaderboard, sections and comparison (the text; fmt: numbers as printed), render
(Markdown/HTML), plot (matplotlib, imported lazily), command. Its settings are in
config/report.py.
Kept import-light: importing this package loads neither matplotlib nor the data code.
"""
