"""Run folders as pandas DataFrames: one row per run, per epoch or per problem x epoch item.

    from critpt_harness.analysis import runs_df, items_df
    runs = runs_df(["runs/*/*"])
    items = items_df(["runs/gpt-4o/2026-01-30_10-00-00"])

Columns are the fields of summary.RunRow / EpochRow / ItemRow (typed by their annotations:
nullable Int64, Float64, boolean, string; times as UTC datetimes), plus each identity setting
of the run's config named by its key (``model.temperature``, ``generation.parsing``, ...) and
each static check (``check.parses``). The score label is the report's (provenance.py).
pandas is an extra (`pip install 'critpt-harness[tables]'`), imported only here.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Union

from ..config.report import ReportConfig
from ..errors import ConfigError
from .folders import find_runs
from .summary import EpochRow, ItemRow, RunRow, RunView, epoch_rows, item_rows, load, named, run_row

if TYPE_CHECKING:
    import pandas as pd

TABLES_EXTRA = "pip install 'critpt-harness[tables]'"
_DTYPES = {int: "Int64", float: "Float64", bool: "boolean", str: "string"}
_TIME_SUFFIX = "_at"
Paths = Union[str, Path, Sequence[Union[str, Path]]]


def pandas() -> Any:
    """pandas, or a config error saying which extra installs it."""
    try:
        import pandas as pd
    except ImportError:
        raise ConfigError(f"tables need pandas, which is not installed: {TABLES_EXTRA}") from None
    return pd


def _base_type(hint: Any) -> Any:
    """X for Optional[X] (typing or PEP 604 unions); the hint itself otherwise."""
    if typing.get_origin(hint) in (Union, getattr(types, "UnionType", Union)):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return args[0] if len(args) == 1 else hint
    return hint


def _inferred(values: List[Any]) -> Optional[str]:
    """The dtype of a column without a declared type (a config setting), from its values."""
    kinds = {type(v) for v in values if v is not None}
    if kinds == {bool}:
        return "boolean"
    if kinds and kinds <= {int}:
        return "Int64"
    if kinds and kinds <= {int, float}:
        return "Float64"
    return "string" if kinds else None


def frame(rows: List[Any], row_type: type, flatten: Dict[str, str]) -> "pd.DataFrame":
    """Rows of a dataclass as a typed DataFrame; ``flatten``: dict field -> column prefix ("" = the keys)."""
    pd = pandas()
    hints = typing.get_type_hints(row_type)
    columns: Dict[str, List[Any]] = {}
    dtypes: Dict[str, Optional[str]] = {}
    fields = [f.name for f in dataclasses.fields(row_type)]
    for name in fields:
        if name not in flatten:
            columns[name] = [getattr(r, name) for r in rows]
            dtypes[name] = _DTYPES.get(_base_type(hints[name]))
    for name, prefix in flatten.items():
        keys = list(dict.fromkeys(k for r in rows for k in getattr(r, name)))
        for key in keys:
            column = f"{prefix}{key}"
            columns[column] = [getattr(r, name).get(key) for r in rows]
            dtypes[column] = _inferred(columns[column])
            if dtypes[column] == "string":
                columns[column] = [None if v is None else str(v) for v in columns[column]]
    df = pd.DataFrame(columns)
    for column, dtype in dtypes.items():
        if column.endswith(_TIME_SUFFIX) and dtype == "string":
            df[column] = pd.to_datetime(df[column], utc=True, errors="coerce", format="ISO8601")
        elif dtype is not None:
            df[column] = df[column].astype(dtype)
    return df


def views(paths: Paths, cfg: Optional[ReportConfig] = None, key: str = "paths") -> List[RunView]:
    patterns = [str(paths)] if isinstance(paths, (str, Path)) else [str(p) for p in paths]
    return named([load(p, cfg) for p in find_runs(patterns, key)])


# level -> (rows of one run, row type, dict fields flattened into columns: field -> column prefix)
LEVELS: Dict[str, Any] = {
    "run": (lambda v: [run_row(v)], RunRow, {"stage": "stage.", "settings": ""}),
    "epoch": (epoch_rows, EpochRow, {}),
    "item": (item_rows, ItemRow, {"check": "check."}),
}


def table(runs: List[RunView], level: str) -> "pd.DataFrame":
    rows_of, row_type, flatten = LEVELS[level]
    return frame([row for v in runs for row in rows_of(v)], row_type, flatten)


def runs_df(paths: Paths, cfg: Optional[ReportConfig] = None) -> "pd.DataFrame":
    """One row per run folder: model, every identity setting, version, score label, per-epoch scores,
    mean and interval, tokens, cost, latency, tool calls, checks. ``paths``: run folders, globs, or
    folders holding run folders; ``cfg``: the report's prices (report.prices ...)."""
    return table(views(paths, cfg), "run")


def epochs_df(paths: Paths, cfg: Optional[ReportConfig] = None) -> "pd.DataFrame":
    """One row per (run, epoch): its grading, tokens and cost, checks."""
    return table(views(paths, cfg), "epoch")


def items_df(paths: Paths, cfg: Optional[ReportConfig] = None) -> "pd.DataFrame":
    """One row per (run, problem, epoch): status, tokens, cost, latency, retries, tool calls, each
    static check, the pre-submission checks and the local verdict."""
    return table(views(paths, cfg), "item")
