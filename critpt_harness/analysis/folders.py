"""Which run folders a reader command means: paths, globs, or folders holding run folders."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, List

from ..errors import ConfigError, RunFolderError
from ..report.command import resolve_runs

DEFAULT_ROOT = "runs"
_SKIP = {"mlruns", "reports", "catalog", "official", "batches", "requests"}  # never hold run folders
_DEPTH = 4


def as_list(value: Any, key: str) -> List[str]:
    """A config value that may be one path or a list of them."""
    if value is None or value == "":
        return []
    if isinstance(value, (str, os.PathLike)):
        return [str(value)]
    try:
        return [str(v) for v in value]
    except TypeError:
        raise ConfigError(f"{key}={value!r}: give run folders or globs, e.g. {key}='[runs/a,runs/b]'") from None


def runs_below(root: Path, depth: int = _DEPTH) -> List[Path]:
    """Run folders (with a config.yaml) at or below ``root``, sorted by path."""
    if (root / "config.yaml").is_file():
        return [root]
    if depth == 0 or not root.is_dir():
        return []
    found: List[Path] = []
    for child in sorted(root.iterdir()):
        if child.is_dir() and not child.name.startswith(".") and child.name not in _SKIP:
            found += runs_below(child, depth - 1)
    return found


def find_runs(patterns: List[str], key: str) -> List[Path]:
    """The run folders that ``patterns`` name (empty: every one under runs/). A folder that is not
    itself a run folder stands for the run folders below it."""
    if not patterns:
        found = runs_below(Path(DEFAULT_ROOT))
        if not found:
            raise RunFolderError(f"no run folder under {Path(DEFAULT_ROOT).resolve()} (none with a config.yaml): "
                                 f"name run folders or globs, e.g. {key}='[runs/*/*]'")
        return found
    out: List[Path] = []
    for path in resolve_runs(patterns):
        if not path.exists():
            raise RunFolderError(f"{key}: {path} does not exist")
        below = runs_below(path)
        if not below:
            raise RunFolderError(f"{key}: {path} is not a run folder and holds none (no config.yaml)")
        out += below
    unique = {p.resolve(): p for p in out}
    return list(unique.values())
