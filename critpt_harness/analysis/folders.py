"""Which run folders a reader command means: paths, globs, or folders holding run folders."""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Any, List

from ..errors import ConfigError, RunFolderError

DEFAULT_ROOT = "runs"
# never hold run folders (MLflow's store keeps copies of config.yaml among its artifacts)
_SKIP = {"mlruns", "artifacts", "reports", "catalog", "official", "batches", "requests"}
_DEPTH = 4
_GLOB = set("*?[")


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
    if root.name in _SKIP or root.name.startswith("."):
        return []
    if (root / "config.yaml").is_file():
        return [root]
    if depth == 0 or not root.is_dir():
        return []
    found: List[Path] = []
    for child in sorted(root.iterdir()):
        if child.is_dir():
            found += runs_below(child, depth - 1)
    return found


def find_runs(patterns: List[str], key: str) -> List[Path]:
    """The run folders that ``patterns`` (paths or globs) name; empty: every one under runs/. A folder
    that is not itself a run folder stands for the run folders below it."""
    if not patterns:
        found = runs_below(Path(DEFAULT_ROOT))
        if not found:
            raise RunFolderError(f"no run folder under {Path(DEFAULT_ROOT).resolve()} (none with a config.yaml): "
                                 f"name run folders or globs, e.g. {key}='[runs/*/*]'")
        return found
    out: List[Path] = []
    for raw in patterns:
        pattern = os.path.expanduser(raw)
        if _GLOB & set(pattern):
            below = [r for p in sorted(glob.glob(pattern)) for r in runs_below(Path(p))]
            if not below:
                raise RunFolderError(f"{key}: {raw!r} matches no run folder (none with a config.yaml below it)")
        else:
            path = Path(pattern)
            if not path.exists():
                raise RunFolderError(f"{key}: {path} does not exist")
            below = runs_below(path)
            if not below:
                raise RunFolderError(f"{key}: {path} is not a run folder and holds none (no config.yaml)")
        out += below
    unique = {p.resolve(): p for p in out}
    return list(unique.values())
