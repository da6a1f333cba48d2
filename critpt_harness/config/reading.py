"""Typed options of the commands that read run folders and never write them: `view`, `table`,
`compare` (positional run folders and flags are turned into these keys by the command table).

Only OmegaConf-compatible types; ``runs`` is Any so that one unbracketed glob is accepted as typed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

TABLE_FORMATS = ("csv", "parquet", "json", "markdown")
TABLE_LEVELS = ("run", "epoch", "item")
COMPARE_FORMATS = ("text", "markdown", "json")


@dataclass
class ViewConfig:
    # Run folders or globs (`critpt-harness view runs/a 'runs/*/*'`); empty = every run folder under runs/.
    runs: Any = field(default_factory=list)
    # 127.0.0.1 keeps the viewer on this machine; another address exposes the run folders to that network.
    host: str = "127.0.0.1"
    # The port it listens on (`--port N`); 0 = any free port.
    port: int = 8780
    # A page of a run still generating reloads itself after this many seconds (0 = never).
    refresh_seconds: int = 10


@dataclass
class TableConfig:
    # Run folders or globs (`critpt-harness table 'runs/*/*'`); empty = every run folder under runs/.
    runs: Any = field(default_factory=list)
    # csv | parquet | json | markdown (`--format`).
    format: str = "csv"
    # One row per run, per graded epoch, or per problem x epoch item (`--level run|epoch|item`).
    level: str = "run"
    # A file to write (`--output`); empty = standard output (parquet needs a file).
    output: Optional[str] = None


@dataclass
class CompareConfig:
    # The two run folders to compare, A then B (`critpt-harness compare A B`).
    runs: Any = field(default_factory=list)
    # text | markdown | json (`--format`).
    format: str = "text"
    # Confidence level of the intervals.
    level: float = 0.95
