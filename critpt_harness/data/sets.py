"""The configured problem set: from the source ``dataset.source`` names (a folder, the version's
GitHub commit, or its Hugging Face copy), checked against the chosen version (``dataset.version``)
and recorded as an :class:`Origin`; then the subset that dataset.ids / dataset.limit name."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any, Dict

from ..config import DatasetConfig
from ..errors import DatasetError
from . import versions
from .problems import SOURCE_FILE, Origin, ProblemSet, load_directory, select

log = logging.getLogger(__name__)


def load_problems(cfg: DatasetConfig) -> ProblemSet:
    """The configured problem set, or the subset that dataset.ids / dataset.limit name."""
    return select(load_full(cfg), list(cfg.ids), cfg.limit)


def _pulled_from(folder: Path) -> Dict[str, Any]:
    """What `data pull` recorded about a folder it wrote (nothing for any other folder)."""
    try:
        data = json.loads((folder / SOURCE_FILE).read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def load_full(cfg: DatasetConfig) -> ProblemSet:
    """The whole set (no dataset.ids / dataset.limit), checked against its version."""
    if not cfg.public:
        if not cfg.path:
            raise DatasetError("dataset.public=false needs dataset.path=<folder of your challenge JSON files>")
        folder = Path(cfg.path).expanduser()
        private = load_directory(folder, expect_public=False, checkpoints=cfg.checkpoints)
        return replace(private, origin=Origin("path", location=str(folder)))
    version = versions.get(cfg.version)
    if cfg.kind == "path":
        folder = Path(cfg.path or "").expanduser()
        pulled = _pulled_from(folder)
        if not version.known and cfg.verify:
            version.check_ids([], f"dataset.path={folder}")  # refuses: says why and what to do
        # ids as the version's (unless verify is off); a copy whose text differs is used, labelled unverified
        loaded = load_directory(folder, checkpoints=cfg.checkpoints, version=version, check_ids=cfg.verify)
        verified, differ = version.check([p.model_dump() for p in loaded.problems], f"dataset.path={folder}",
                                         verify=False)
        if differ:
            log.warning("dataset.path=%s: %d problem(s) differ from %s (%s): the run is labelled 'unverified copy'",
                        folder, len(differ), version.label, ", ".join(differ[:5]))
        origin = Origin("path", version.name, pulled.get("revision"), verified=verified, differ=tuple(differ),
                        location=str(folder))
        return replace(loaded, origin=origin)
    if cfg.kind == "huggingface":
        from .hub import load_hub

        return load_hub(cfg, version)
    from .github import load_github

    return load_github(cfg, version)
