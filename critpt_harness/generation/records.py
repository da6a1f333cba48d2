"""The run's generation records, read back: the latest per (problem, epoch), their statuses, what is
still to ask, the usable ones."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional, Tuple

from ..contracts import AnswerRecord, GenerationRecord
from ..runfiles import read_jsonl, read_jsonl_as
from ..runs import RunFolder

if TYPE_CHECKING:
    from ..data.problems import Problem

log = logging.getLogger(__name__)

Key = Tuple[str, int]


def latest_records(run: RunFolder) -> Dict[Key, GenerationRecord]:
    """The newest record per (problem, epoch), an ok one winning over failures."""
    latest: Dict[Key, GenerationRecord] = {}
    for raw in read_jsonl(run.generations_file):
        try:
            rec = GenerationRecord.model_validate(raw)
        except ValueError:
            log.warning("%s: a record does not match the schema; skipped", run.generations_file)
            continue
        old = latest.get(rec.key)
        if old is None or old.status != "ok" or rec.status == "ok":
            latest[rec.key] = rec
    return latest


def _identified(raw: Dict[str, Any]) -> Optional[Tuple[Key, str]]:
    """(key, status) of a record whose top-level fields have exactly the types the schema
    asks (every record this tool writes); None when it must be validated in full."""
    pid, epoch, status = raw.get("problem_id"), raw.get("epoch"), raw.get("status")
    if (status in ("ok", "failed") and type(pid) is str and type(epoch) is int
            and type(raw.get("model")) is str and type(raw.get("parsing")) is bool
            and type(raw.get("started_at")) is str and type(raw.get("finished_at")) is str
            and type(raw.get("duration_s")) in (float, int)):
        return (pid, epoch), status
    return None


def record_statuses(run: RunFolder) -> Dict[Key, str]:
    """The newest status per (problem, epoch), an ok one winning over failures: what
    ``latest_records`` gives, without building a record model per line (resuming a run
    needs only keys and statuses). A record whose identifying fields are not exactly of
    the schema's types is validated in full, and skipped with a warning if it does not match."""
    statuses: Dict[Key, str] = {}
    for raw in read_jsonl(run.generations_file):
        found = _identified(raw)
        if found is None:
            try:
                rec = GenerationRecord.model_validate(raw)
            except ValueError:
                log.warning("%s: a record does not match the schema; skipped", run.generations_file)
                continue
            found = rec.key, rec.status
        keep_status(statuses, *found)
    return statuses


def keep_status(statuses: Dict[Key, str], key: Key, status: str) -> None:
    """Add the status of a newer record: it replaces the one kept unless that one is ok."""
    if statuses.get(key) != "ok" or status == "ok":
        statuses[key] = status


def pending_units(units: Iterable[List["Problem"]], epochs: int, done: Iterable[Key]) -> List[Tuple[List["Problem"], int]]:
    """(unit, epoch) pairs with at least one problem not yet answered."""
    finished = set(done)
    return [(u, e) for e in range(epochs) for u in units
            if any((p.problem_id, e) not in finished for p in u)]


def ok_records(run: RunFolder) -> List[GenerationRecord]:
    """Every ok record (duplicates included: the batch stage reports them)."""
    out = []
    for raw in read_jsonl(run.generations_file):
        if raw.get("status") == "ok":
            try:
                out.append(GenerationRecord.model_validate(raw))
            except ValueError:
                log.warning("%s: a record does not match the schema; skipped", run.generations_file)
    return out


def answers(run: RunFolder, messages: bool = True) -> List[GenerationRecord]:
    """Every ok record, as the batch stage needs it (duplicates included: it reports them). Without
    ``messages`` each holds only its final reply, code and checks (the conversation, reasoning and
    tool calls are not read): 3,500 answers are then a few MB, not all the run's text."""
    if messages:
        return ok_records(run)
    found, misfits = read_jsonl_as(run.generations_file, AnswerRecord)
    if misfits:
        log.warning("%s: %d records do not match the schema; skipped", run.generations_file, misfits)
    fields = [name for name in AnswerRecord.model_fields if name != "schema_version"]
    return [GenerationRecord.model_validate({**{k: getattr(a, k) for k in fields}, "replies": a.replies[-1:]})
            for a in found if a.status == "ok"]
