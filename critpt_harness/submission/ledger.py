"""The grading ledger: every grading and every unfinished attempt on this machine, per grader URL,
so a batch graded before is not sent again and the quota already used is known.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, List, Optional

from ..config import EvaluatorConfig
from ..failures import parse_reset
from ..runfiles import JsonlAppender, read_jsonl
from ..runs import default_cache_dir, now_iso

GRADED, IN_FLIGHT, UNKNOWN, REFUNDED = "graded", "in_flight", "unknown", "refunded"


@dataclass
class LedgerEntry:
    content_hash: str
    graded_at: datetime  # for an unfinished attempt: when it was posted
    run_dir: str
    epoch: int
    result: Dict[str, Any]
    url: str
    state: str = GRADED  # graded, or in_flight/unknown (the grader may have counted it)

    @property
    def graded(self) -> bool:
        return self.state == GRADED


class Ledger:
    """Graded batch hashes for all runs on this machine, per grader URL, plus the
    quota they used: a rehearsal on a local grader never stands in for, or uses
    the quota of, the real one."""

    def __init__(self, path: Path):
        self.path = path

    def entries(self, url: str) -> List[LedgerEntry]:
        """Gradings (and unfinished attempts) for ``url``. Entries with an
        ``attempt_id`` are folded: an "in_flight" entry is completed by a later
        "graded" one, closed by "refunded", or stays open ("in_flight"/"unknown").
        Entries without one (older ledgers) are completed gradings."""
        out: List[LedgerEntry] = []
        attempts: Dict[str, LedgerEntry] = {}
        for raw in read_jsonl(self.path, versioned=True):
            if not raw.get("content_hash") or raw.get("url") != url:
                continue
            state = raw.get("state", GRADED)
            attempt_id = raw.get("attempt_id")
            if state == REFUNDED:
                if attempt_id in attempts:
                    out.remove(attempts.pop(attempt_id))
                continue
            when = parse_reset(raw.get("graded_at") if state == GRADED else raw.get("started_at"))
            previous = attempts.get(attempt_id) if attempt_id else None
            if previous is not None:
                if state == GRADED and when:
                    previous.state, previous.graded_at, previous.result = GRADED, when, raw.get("result", {})
                elif state == UNKNOWN:
                    previous.state = UNKNOWN
                continue
            if not when:
                continue
            entry = LedgerEntry(raw["content_hash"], when, raw.get("run_dir", ""), int(raw.get("epoch", -1)),
                                raw.get("result", {}) if state == GRADED else {}, url,
                                GRADED if state == GRADED else state)
            out.append(entry)
            if attempt_id:
                attempts[attempt_id] = entry
        return out

    def find(self, content_hash: str, url: str) -> Optional[LedgerEntry]:
        return next((e for e in self.entries(url) if e.content_hash == content_hash and e.graded), None)

    def unfinished(self, content_hash: str, url: str) -> List[LedgerEntry]:
        """Attempts for this content that were posted but never answered."""
        return [e for e in self.entries(url) if e.content_hash == content_hash and not e.graded]

    def used_since(self, since: datetime, url: str) -> List[LedgerEntry]:
        """Gradings since ``since``, unfinished attempts included (the grader may have counted them)."""
        return [e for e in self.entries(url) if e.graded_at >= since]

    def _append(self, record: Dict[str, Any]) -> None:
        with JsonlAppender(self.path, versioned=True) as w:
            w.write(record)
            w.sync()

    def add(self, content_hash: str, run_dir: str, epoch: int, result: Dict[str, Any], url: str,
            attempt_id: Optional[str] = None) -> None:
        record = {"content_hash": content_hash, "graded_at": now_iso(), "run_dir": run_dir,
                  "epoch": epoch, "result": result, "url": url}
        if attempt_id:
            record.update(attempt_id=attempt_id, state=GRADED)
        self._append(record)

    def begin(self, attempt_id: str, content_hash: str, run_dir: str, epoch: int, url: str) -> None:
        """Written (and fsynced) before the POST."""
        self._append({"attempt_id": attempt_id, "state": IN_FLIGHT, "content_hash": content_hash,
                      "started_at": now_iso(), "run_dir": run_dir, "epoch": epoch, "url": url})

    def close(self, attempt_id: str, content_hash: str, url: str, state: str, reason: str) -> None:
        """Mark an attempt refunded, or unknown (no answer; the grader may count it)."""
        self._append({"attempt_id": attempt_id, "state": state, "content_hash": content_hash,
                      "closed_at": now_iso(), "url": url, "reason": reason})


def ledger_path(cfg: EvaluatorConfig) -> Path:
    return Path(cfg.ledger_path).expanduser() if cfg.ledger_path else default_cache_dir() / "graded-ledger.jsonl"

