"""A stored catalog snapshot, read back: its files, and the records each catalog's own
reader (on its client class) makes of them. Reads files only; imports no client, so
the report and the budget can load it cheaply.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

log = logging.getLogger(__name__)


@dataclass
class StoredFile:
    api: str
    name: str
    path: Path
    response: Any
    fetched_at: Optional[str]
    source_url: Optional[str]
    attribution: Optional[str]

    def rows(self, key: str) -> List[Dict[str, Any]]:
        """The reply's list under ``key`` (its dict items only; [] when the reply has none)."""
        rows = self.response.get(key) if isinstance(self.response, dict) else None
        return [r for r in rows or [] if isinstance(r, dict)]


@dataclass
class Candidate:
    id: str
    name: str
    keys: List[str]  # strings the model may be called by: id, slug, name, provider/slug
    published: Dict[str, Any] = field(default_factory=dict)


@dataclass
class ModelMatch:
    catalog: str
    query: str
    entry_id: Optional[str]
    entry_name: Optional[str]
    method: str
    confidence: float
    note: str = ""
    # "matches.json" (matched when the snapshot was taken) or "report" (matched offline now).
    matched_by: str = "matches.json"
    candidates: List[Dict[str, str]] = field(default_factory=list)


@dataclass
class PublishedScore:
    """A CritPt score a catalog publishes, in percent."""

    catalog: str
    model_id: str
    model_name: str
    percent: float
    raw: float
    field: str  # where in the reply, e.g. "evaluations.critpt"
    file: str  # relative to the report's run folder (or absolute)
    fetched_at: Optional[str]
    as_of: Optional[str] = None
    note: str = ""


@dataclass
class ContextMetric:
    catalog: str
    metric: str
    value: Any
    unit: str
    file: str
    fetched_at: Optional[str]
    as_of: Optional[str] = None


@dataclass
class CatalogPrice:
    catalog: str
    input_per_million: float
    output_per_million: float
    field: str
    file: str
    fetched_at: Optional[str]
    entry_name: str


def num(value: Any) -> Optional[float]:
    """Numbers and numeric strings (OpenRouter prices are strings); else None."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def keys(*values: Any) -> List[str]:
    """The names a candidate may be called by, empty ones left out."""
    return [str(v) for v in values if v]


class SnapshotFiles:
    """One catalog snapshot folder (``<run>/catalog`` or a shared one), file by file."""

    def __init__(self, folder: Path, shown_relative_to: Optional[Path] = None):
        self.folder = Path(folder)
        self.base = shown_relative_to
        self.index: Dict[str, Any] = self._json(self.folder / "index.json") or {}
        self._files: Dict[Tuple[str, str], Optional[StoredFile]] = {}

    @staticmethod
    def exists_at(folder: Path) -> bool:
        return (Path(folder) / "index.json").exists()

    def _json(self, path: Path) -> Any:
        if not path.exists():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            log.warning("%s is not valid JSON (%s); ignored in the report", path, exc)
            return None

    def shown(self, path: Path) -> str:
        if self.base is not None:
            try:
                return str(path.relative_to(self.base))
            except ValueError:
                pass
        return str(path)

    @property
    def taken_at(self) -> Optional[str]:
        return self.index.get("taken_at")

    def status(self, api: str) -> Optional[str]:
        return (self.index.get("apis", {}).get(api) or {}).get("status")

    def attributions(self) -> List[str]:
        """The attributions the index lists (the APIs that returned data)."""
        found = list(self.index.get("attributions") or [])
        for api, summary in (self.index.get("apis") or {}).items():
            text = (summary or {}).get("attribution")
            if summary and summary.get("endpoints") and text and text not in found:
                found.append(text)
        return found

    def file(self, api: str, name: str) -> Optional[StoredFile]:
        key = (api, name)
        if key not in self._files:
            path = self.folder / api / f"{name}.json"
            data = self._json(path)
            self._files[key] = None if not isinstance(data, dict) else StoredFile(
                api, name, path, data.get("response"), data.get("fetched_at"), data.get("source_url"),
                data.get("attribution"))
        return self._files[key]

    def files(self, api: str, prefix: str) -> List[StoredFile]:
        names = sorted(p.stem for p in (self.folder / api).glob(f"{prefix}*.json"))
        return [f for f in (self.file(api, n) for n in names) if f is not None]

    def rows(self, api: str, name: str, key: str) -> Iterator[Tuple[StoredFile, Dict[str, Any]]]:
        """(file, row) for each dict in the list ``key`` of one stored reply."""
        f = self.file(api, name)
        for row in f.rows(key) if f else []:
            yield f, row  # type: ignore[misc]  # f is set when there are rows

    def find(self, api: str, name: str, key: str, field: str, value: str
             ) -> Tuple[Optional[StoredFile], Optional[Dict[str, Any]]]:
        """The first row of ``name``'s list ``key`` whose ``field`` is ``value``."""
        return next(((f, r) for f, r in self.rows(api, name, key) if r.get(field) == value), (None, None))


class Metrics(List[ContextMetric]):
    """The context metrics one catalog publishes for an entry, each with its file."""

    def __init__(self, snap: SnapshotFiles, catalog: str):
        super().__init__()
        self.snap, self.catalog = snap, catalog

    def add(self, metric: str, value: Any, unit: str, f: StoredFile, as_of: Optional[str] = None) -> None:
        if value is not None:
            self.append(ContextMetric(self.catalog, metric, value, unit, self.snap.shown(f.path), f.fetched_at, as_of))
