"""The run files on disk: atomic JSON writes, append-only JSONL, and the schema_version stamp
every run file carries (a file from a newer critpt-harness is refused, an older one upgraded).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional, Tuple, Type, TypeVar

import jsonlines

from .errors import RunFolderError
from .secrets import redact

if TYPE_CHECKING:
    from pydantic import BaseModel, ValidationError

    from .contracts import RunFile

log = logging.getLogger(__name__)


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON via a temp file + rename, so a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = redact(json.dumps(stamp(data) if _versioned(path) else data, indent=2, ensure_ascii=False,
                             default=str)) + "\n"
    write_text_atomic(path, text)


def write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_bytes_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _versioned(path: Path) -> bool:
    """The run folder's own files (contracts.RUN_FILES), known by name: stamped with schema_version,
    checked on read. (The ledger, which evaluator.ledger_path may name anything, says so itself.)"""
    from .contracts import RUN_FILES

    return path.name in RUN_FILES or path.name.endswith(".checks.json")


class NewerVersionError(RunFolderError):
    """A run file written by a newer critpt-harness: never skipped like a damaged file."""


def check_version(data: Any, path: Path) -> Any:
    """Refuse a file written by a newer critpt-harness; older ones read as they are."""
    from .contracts import SCHEMA_VERSION

    version = data.get("schema_version") if isinstance(data, dict) else None
    if isinstance(version, int) and version > SCHEMA_VERSION:
        raise NewerVersionError(f"{path} was written by a newer critpt-harness (schema_version {version}; this one "
                                f"reads up to {SCHEMA_VERSION}): upgrade critpt-harness (pip install -U) to read it")
    return data


def stamp(data: Any) -> Any:
    """``data`` with this version's schema_version (a dict; anything else as it is)."""
    if isinstance(data, dict):
        from .contracts import SCHEMA_VERSION

        return {**data, "schema_version": SCHEMA_VERSION}
    return data


def read_json(path: Path) -> Any:
    data = _load_json(path)
    return check_version(data, path) if _versioned(path) else data


M = TypeVar("M", bound="BaseModel")
R = TypeVar("R", bound="RunFile")


def read_run_file(path: Path, model: Type[R]) -> R:
    """A run folder's own file as its contracts model: one from a newer schema_version is refused
    naming both versions, an older one is brought to today's shape (``model.upgrade``; unversioned
    files predate the stamp: version 1), a wrong shape names the field."""
    from pydantic import ValidationError

    from .contracts import SCHEMA_VERSION

    data = check_version(_load_json(path), path)
    version = data.get("schema_version", 1) if isinstance(data, dict) else SCHEMA_VERSION
    if isinstance(version, int) and version < SCHEMA_VERSION:
        data = model.upgrade(dict(data), version)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise RunFolderError(f"{path}: {_first_error(exc)}; restore the file or remove it") from exc


def read_jsonl_as(path: Path, model: Type[M]) -> Tuple[List[M], int]:
    """The lines of a JSONL run file as ``model`` (a narrow one skips the fields it does not name),
    and how many lines do not fit it. Torn lines are skipped with a warning, as by read_jsonl; a
    line from a newer schema_version is refused."""
    from pydantic import ValidationError

    out: List[M] = []
    misfits = 0
    if not path.exists():
        return out, misfits
    with path.open("rb") as f:
        for n, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            try:
                item = model.model_validate_json(raw)
            except ValidationError as exc:
                obj = _json_line(raw, path, n)  # the slow path: what kind of line is it?
                if obj is None:
                    continue
                check_version(obj, path)
                misfits += 1
                log.debug("%s line %d: %s", path, n, _first_error(exc))
                continue
            check_version({"schema_version": getattr(item, "schema_version", None)}, path)
            out.append(item)
    return out, misfits


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RunFolderError(f"{path}: not valid JSON ({exc}); restore or delete it") from exc


def _first_error(exc: "ValidationError") -> str:
    first = exc.errors()[0]
    return f"{'.'.join(str(p) for p in first['loc']) or 'top level'}: {first['msg']}"


def _json_line(raw: bytes, path: Path, n: int) -> Optional[Dict[str, Any]]:
    """A JSONL line as a dict; None (with a warning) for a torn or foreign line."""
    try:
        obj = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        log.warning("%s line %d is not UTF-8 text (an interrupted or foreign write?); skipped", path, n)
        return None
    except json.JSONDecodeError:
        log.warning("%s line %d is not valid JSON (an interrupted write?); skipped", path, n)
        return None
    return obj if isinstance(obj, dict) else None


class JsonlAppender:
    """Append-only JSONL: one flushed line per record, so a crash loses at most
    the records not yet written. A torn last line from an earlier crash is
    closed off (it is then skipped with a warning) instead of being glued to."""

    def __init__(self, path: Path, versioned: Optional[bool] = None):
        """``versioned``: stamp schema_version on each line; None = by the file's name."""
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and path.stat().st_size > 0:
            with path.open("rb") as f:
                f.seek(-1, os.SEEK_END)
                torn = f.read(1) != b"\n"
            if torn:
                with path.open("ab") as f:
                    f.write(b"\n")
        self._file = path.open("a", encoding="utf-8")
        self._path = path
        self._versioned = _versioned(path) if versioned is None else versioned
        self._writer = jsonlines.Writer(self._file, flush=True, dumps=self._dumps)

    @staticmethod
    def _dumps(obj: Any) -> str:
        return redact(json.dumps(obj, ensure_ascii=False, default=str))

    def write(self, obj: Any) -> None:
        self._writer.write(stamp(obj) if self._versioned else obj)

    def sync(self) -> None:
        """Flush and fsync: the record survives a crash or a kill right after."""
        self._file.flush()
        os.fsync(self._file.fileno())

    def write_model(self, model: Any) -> None:
        """A pydantic model, serialised by pydantic-core (much faster than dict + json)."""
        self._file.write(redact(model.model_dump_json()) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._writer.close()
        self._file.close()

    def __enter__(self) -> "JsonlAppender":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def read_jsonl(path: Path, versioned: Optional[bool] = None) -> Iterator[Dict[str, Any]]:
    """Records of a JSONL file; unreadable lines (a torn write) are skipped with a warning.
    ``versioned``: refuse lines from a newer schema_version; None = by the file's name."""
    if not path.exists():
        return
    versioned = _versioned(path) if versioned is None else versioned
    # Read bytes: a line that is not UTF-8 (a torn or foreign write) is skipped like one that is not JSON.
    with path.open("rb") as f:
        for n, raw in enumerate(f, 1):
            obj = _json_line(raw, path, n) if raw.strip() else None
            if obj is not None:
                yield check_version(obj, path) if versioned else obj
