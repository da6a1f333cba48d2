"""The run folder: its layout, the manifest, and which run is the newest.

Every stage reads the previous stage's files from here, so any stage can be
re-run alone, and re-using a folder resumes it. Reading and writing the files
themselves (atomic JSON, JSONL, schema versions) is in :mod:`.runfiles`.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import yaml

from .errors import RunFolderError
from .runfiles import read_json, write_json_atomic, write_text_atomic
from .secrets import redact, redact_config

# libyaml's loader and dumper when PyYAML has them (same documents, several times faster).
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_YAML_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

PACKAGES = ("openai", "httpx", "pydantic", "tenacity", "hydra-core", "omegaconf", "jsonlines")


# Where downloads, the grading ledger and the catalog cache are kept (CRITPT_HARNESS_CACHE).
def default_cache_dir() -> Path:
    env = os.environ.get("CRITPT_HARNESS_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "critpt-harness"


def canonical_sha256(obj: Any) -> str:
    """Hash of JSON content independent of formatting and key order."""
    text = json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _git_revision() -> Optional[str]:
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def package_versions() -> Dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    from . import __version__

    versions = {"critpt-harness": __version__, "python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            pass
    return versions


LATEST = "latest"  # a file beside run folders naming the newest one (portable, unlike a symlink)


def mark_latest(run_path: Path) -> None:
    """Point ``<parent>/latest`` at this run folder (by name); called once it holds records."""
    write_text_atomic(run_path.parent / LATEST, run_path.name + "\n")


def latest_run(parent: Path) -> Optional[Path]:
    """The run folder ``<parent>/latest`` names, else the newest one there (names are times), among
    folders holding records: a start that failed never stands in for a finished run."""
    pointer = parent / LATEST
    if pointer.is_file():
        named = parent / pointer.read_text(encoding="utf-8").strip()
        if named.name and RunFolder(named).has_records():
            return named
    if not parent.is_dir():
        return None
    runs = sorted(p for p in parent.iterdir() if RunFolder(p).has_records())
    return runs[-1] if runs else None


def claim_folder(path: Path, *, new: bool) -> Tuple[Path, Optional[Path]]:
    """The folder a command works in, and the outermost folder of it that the command makes (None:
    it existed), which a command that fails before its first record removes again. ``new``: a
    default-named run, which always gets a folder of its own (see new_run_path)."""
    if not new:
        return path, first_missing(path)
    top = first_missing(path.parent)
    path = new_run_path(path)
    return path, top or path


def new_run_path(path: Path) -> Path:
    """Create a default-named run folder that no other process has: two runs started in the same
    millisecond get ``<name>`` and ``<name>-2`` (mkdir is atomic), never one folder."""
    for n in range(1, 1000):
        candidate = path if n == 1 else path.with_name(f"{path.name}-{n}")
        try:
            candidate.mkdir(parents=True)
            return candidate
        except FileExistsError:
            continue
    raise RunFolderError(f"{path}: 999 run folders of that name exist already; pass run_dir=...")


def first_missing(path: Path) -> Optional[Path]:
    """The outermost folder of ``path`` that does not exist yet (None if it exists): what a command
    that fails before its first record removes again."""
    if path.exists():
        return None
    top = path
    while not top.parent.exists() and top.parent != top:
        top = top.parent
    return top


class RunFolder:
    def __init__(self, path: Path | str):
        self.path = Path(path)

    # Layout -----------------------------------------------------------------
    @property
    def config_file(self) -> Path:
        return self.path / "config.yaml"

    @property
    def manifest_file(self) -> Path:
        return self.path / "manifest.json"

    @property
    def generations_file(self) -> Path:
        return self.path / "generations.jsonl"

    @property
    def batches_dir(self) -> Path:
        return self.path / "batches"

    def batch_file(self, epoch: int) -> Path:
        return self.batches_dir / f"epoch_{epoch}.json"

    def checks_file(self, epoch: int) -> Path:
        return self.batches_dir / f"epoch_{epoch}.checks.json"

    @property
    def submissions_file(self) -> Path:
        return self.path / "submissions.jsonl"

    @property
    def results_file(self) -> Path:
        return self.path / "results.json"

    @property
    def log_file(self) -> Path:
        return self.path / "harness.log"

    def exists(self) -> bool:
        return self.config_file.exists()

    def has_records(self) -> bool:
        """At least one generation record: the run has started for real."""
        try:
            return self.config_file.is_file() and self.generations_file.stat().st_size > 0
        except OSError:
            return False

    def discard_unstarted(self, created: Path) -> bool:
        """After a failed start: remove this folder, and the folders above it up to ``created`` (those
        the command made), if it holds no record. True when it was removed."""
        import shutil

        if self.has_records() or not self.path.is_dir():
            return False
        shutil.rmtree(self.path, ignore_errors=True)
        at = self.path.parent
        while created != self.path and (at == created or created in at.parents):
            try:
                at.rmdir()  # only when empty: another run may have started there meanwhile
            except OSError:
                break
            at = at.parent
        return not self.path.exists()

    # Config and manifest ------------------------------------------------------
    def stored_config(self) -> Dict[str, Any]:
        if not self.config_file.exists():
            raise RunFolderError(
                f"{self.path} is not a run folder (no config.yaml): run `critpt-harness generate "
                f"run_dir={self.path}` first, or point run_dir at an existing run"
            )
        return yaml.load(self.config_file.read_text(encoding="utf-8"), Loader=_YAML_LOADER) or {}

    def write_config(self, resolved: Dict[str, Any]) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        text = redact(yaml.dump(redact_config(resolved), Dumper=_YAML_DUMPER, sort_keys=False, allow_unicode=True))
        write_text_atomic(self.config_file, text)

    def manifest(self) -> Dict[str, Any]:
        return read_json(self.manifest_file) if self.manifest_file.exists() else {}

    def update_manifest(self, **fields: Any) -> Dict[str, Any]:
        data = self.manifest()
        if not data:
            data = {"created_at": now_iso(), "git_revision": _git_revision(),
                    "packages": package_versions(), "commands": []}
        data.update(fields)
        write_json_atomic(self.manifest_file, data)
        return data

    def record_command(self, command: str, argv: List[str], outcome: str) -> None:
        data = self.manifest() or self.update_manifest()
        data.setdefault("commands", []).append({"at": now_iso(), "command": command,
                                                "argv": [redact(a) for a in argv], "outcome": outcome})
        write_json_atomic(self.manifest_file, data)

