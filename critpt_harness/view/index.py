"""What the viewer knows about its run folders: indexed once, then kept up to date cheaply.

generations.jsonl is read once, keeping each line's byte offset and its summary (not its long
texts); afterwards only the bytes appended since are read, so a run in progress shows its new
records without a restart, and an item page reads one line at its offset. A run's other files
(config, manifest, results, checks) are re-read only when their size or time changes. Nothing
is ever written.
"""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from pydantic import ValidationError

from ..analysis.folders import find_runs
from ..analysis.summary import ItemSummary, RunView, load, named
from ..config.report import ReportConfig
from ..contracts import GenerationRecord
from ..report.records import latest
from ..runfiles import check_version
from ..runs import RunFolder

Key = Tuple[str, int]
# The files a run's summary depends on, besides generations.jsonl (and batches/, listed).
WATCHED = ("config.yaml", "manifest.json", "results.json", "local_grades.json")


@dataclass
class RecordIndex:
    """generations.jsonl: the offset and summary of every complete line read so far."""

    path: Path
    offsets: List[int] = field(default_factory=list)
    records: List[ItemSummary] = field(default_factory=list)
    misfits: int = 0
    _read_to: int = 0
    _inode: Optional[int] = None

    def refresh(self) -> bool:
        """Read what was appended since the last call; True when there was something new."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            changed = bool(self.offsets)
            self.offsets, self.records, self._read_to, self._inode = [], [], 0, None
            return changed
        if st.st_ino != self._inode or st.st_size < self._read_to:  # replaced or truncated: start again
            self.offsets, self.records, self.misfits, self._read_to, self._inode = [], [], 0, 0, st.st_ino
        if st.st_size == self._read_to:
            return False
        with self.path.open("rb") as f:
            f.seek(self._read_to)
            data = f.read(st.st_size - self._read_to)
        end = data.rfind(b"\n") + 1  # a line still being written waits for the next call
        at = self._read_to
        for raw in data[:end].splitlines(keepends=True):
            if raw.strip():
                self._add(raw, at)
            at += len(raw)
        self._read_to += end
        return end > 0

    def _add(self, raw: bytes, offset: int) -> None:
        try:
            item = ItemSummary.model_validate_json(raw)
        except ValidationError:
            self.misfits += 1  # a torn or foreign line, as the report skips it
            return
        check_version({"schema_version": item.schema_version}, self.path)
        self.offsets.append(offset)
        self.records.append(item)

    def latest(self) -> Dict[Key, int]:
        """The line (position in ``records``) of the newest record per item, an ok one winning
        (report.records.latest)."""
        line = {id(r): i for i, r in enumerate(self.records)}
        return {key: line[id(r)] for key, r in latest(self.records).items()}

    def record(self, position: int) -> GenerationRecord:
        """The whole record of one line, read at its offset."""
        with self.path.open("rb") as f:
            f.seek(self.offsets[position])
            return GenerationRecord.model_validate_json(f.readline())


def _signature(run: RunFolder) -> Tuple:
    """Sizes and times of the files a run's summary is made from."""
    out: List[Tuple[str, Optional[int], Optional[int]]] = []
    for name in WATCHED:
        try:
            st = (run.path / name).stat()
            out.append((name, st.st_size, st.st_mtime_ns))
        except FileNotFoundError:
            out.append((name, None, None))
    if run.batches_dir.is_dir():
        for entry in sorted(os.scandir(run.batches_dir), key=lambda e: e.name):
            st = entry.stat()
            out.append((entry.name, st.st_size, st.st_mtime_ns))
    return tuple(out)


class RunEntry:
    """One run folder: its record index and its summary, rebuilt when a file changed."""

    def __init__(self, path: Path, run_id: str, cfg: ReportConfig):
        self.path, self.id, self.cfg = path, run_id, cfg
        self.index = RecordIndex(RunFolder(path).generations_file)
        self._view: Optional[RunView] = None
        self._signature: Tuple = ()
        self._latest: Dict[Key, int] = {}
        self.lock = threading.RLock()  # pages are served from a thread pool

    @property
    def ready(self) -> bool:
        """Indexed once already (then a look only reads what changed)."""
        return self._view is not None

    @property
    def cached(self) -> Optional[RunView]:
        """The summary as last made (no look for changes), None before the first index."""
        return self._view

    def view(self) -> RunView:
        with self.lock:
            return self._current()

    def _current(self) -> RunView:
        grown = self.index.refresh()
        signature = _signature(RunFolder(self.path))
        if self._view is None or grown or signature != self._signature:
            self._view = load(self.path, self.cfg, records=list(self.index.records))
            if self.index.misfits:
                self._view.data.notes.append(f"{self.index.path}: {self.index.misfits} lines do not match the "
                                             "schema; left out")
            self._signature, self._latest = signature, self.index.latest()
        return self._view

    def record(self, key: Key) -> Optional[GenerationRecord]:
        with self.lock:
            self._current()
            position = self._latest.get(key)
            return None if position is None else self.index.record(position)


class Library:
    """The run folders the viewer was given (paths, globs, folders of runs), found again on each
    look so that a new run folder appears too. Indexing 20 runs of 3,500 records takes seconds:
    ``index_in_background`` does it in a thread while pages show what is ready (a run's own page
    indexes that run at once)."""

    def __init__(self, patterns: List[str], cfg: Optional[ReportConfig] = None, key: str = "view.runs"):
        self.patterns, self.key, self.cfg = patterns, key, cfg or ReportConfig()
        self.entries: Dict[str, RunEntry] = {}
        self.lock = threading.RLock()  # guards the entries; each entry guards its own index
        self.indexed = threading.Event()  # the background indexer has been through every run found
        self.indexed.set()

    @staticmethod
    def run_id(path: Path) -> str:
        try:
            return str(path.resolve().relative_to(Path.cwd().resolve()))
        except ValueError:
            return str(path.resolve())

    def found(self) -> List[RunEntry]:
        """Every run folder the patterns name now (new ones get an entry, not yet indexed)."""
        with self.lock:
            entries = []
            for p in find_runs(self.patterns, self.key):
                rid = self.run_id(p)
                if rid not in self.entries:
                    self.entries[rid] = RunEntry(p, rid, self.cfg)
                entries.append(self.entries[rid])
            return entries

    def index_in_background(self) -> threading.Thread:
        """Index every run folder found, one after another, in a daemon thread."""
        self.indexed.clear()

        def work() -> None:
            # A page's thread waits for the GIL after each file it stats or reads; while this thread
            # parses, a shorter switch interval keeps that wait well under a millisecond.
            switch = sys.getswitchinterval()
            sys.setswitchinterval(min(switch, 0.0005))
            try:
                for entry in self.found():
                    try:
                        entry.view()
                    except Exception:  # a damaged run: its own page says what is wrong
                        pass
            finally:
                sys.setswitchinterval(switch)
                self.indexed.set()
        thread = threading.Thread(target=work, name="critpt-viewer-index", daemon=True)
        thread.start()
        return thread

    def runs(self) -> List[Tuple[RunEntry, RunView]]:
        """Every run folder with its summary (indexed now where not yet), names telling them apart."""
        entries = self.found()
        return list(zip(entries, named([e.view() for e in entries])))

    def ready(self, wait: float = 0.0) -> List[Tuple[RunEntry, Optional[RunView]]]:
        """Every run folder, with its summary where it is indexed (None: still being indexed).
        ``wait``: seconds to give the background indexer first."""
        done = self.indexed.wait(wait)
        entries = self.found()
        # no indexer at work (never started, or through): a folder not indexed yet is indexed now
        views = [e.view() if e.ready or done else None for e in entries]
        named([v for v in views if v is not None])
        return list(zip(entries, views))

    def get(self, run_id: str) -> Optional[Tuple[RunEntry, RunView]]:
        """A run by its id (only runs the viewer was given: an id is never opened as a path),
        indexed now if it is not yet; named apart from the indexed runs that share its label."""
        entries = self.found()
        entry = next((e for e in entries if e.id == run_id), None)
        if entry is None:
            return None
        view = entry.view()
        others = [e.cached for e in entries if e is not entry and e.cached is not None]
        named([view, *others])  # type: ignore[list-item]  # None filtered above
        return entry, view
