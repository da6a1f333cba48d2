"""What generations.jsonl says about a run: tokens, time, tool use, and the records' own checks.

The file holds a line per model answer (hundreds, with long texts); only the few fields a
summary needs are read (contracts.RecordSummary), the texts are skipped unbuilt.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime
from typing import Dict, List, Optional, Sequence, Set, Tuple, Type

from ..contracts import RecordSummary
from ..runfiles import read_jsonl_as
from ..runs import RunFolder


@dataclass
class CheckCounts:
    epoch: int
    problems: int
    passed_all: int
    per_check: Dict[str, int]
    source: str
    not_executable: int = 0  # checked statically only (answer() takes concrete inputs)


@dataclass
class UsageSummary:
    records: int = 0  # lines in generations.jsonl, retries and failures included
    items: int = 0  # distinct (problem, epoch)
    items_ok: int = 0
    problems: int = 0
    prompt_tokens: int = 0  # over every record: what was paid for
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    item_prompt_mean: Optional[float] = None
    item_completion_mean: Optional[float] = None
    item_completion_median: Optional[float] = None
    item_completion_max: Optional[int] = None
    model_seconds: float = 0.0  # sum of per-record durations
    item_seconds_mean: Optional[float] = None
    item_seconds_max: Optional[float] = None
    first_started: Optional[str] = None
    last_finished: Optional[str] = None
    tool_calls: int = 0
    web_searches: int = 0

    @property
    def elapsed_seconds(self) -> Optional[float]:
        a, b = parse_time(self.first_started), parse_time(self.last_finished)
        return (b - a).total_seconds() if a and b else None


def parse_time(text: Optional[str]) -> Optional[datetime]:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def read_records(run: RunFolder, notes: List[str], model: Type[RecordSummary] = RecordSummary) -> List[RecordSummary]:
    """The records' summaries (``model``: RecordSummary or a wider one); misfits are noted."""
    records, misfits = read_jsonl_as(run.generations_file, model)
    if misfits:
        notes.append(f"{run.generations_file}: {misfits} records do not match the schema; left out")
    return records


def latest(records: Sequence[RecordSummary]) -> Dict[Tuple[str, int], RecordSummary]:
    """The newest record per (problem, epoch), an ok one winning (as generate does)."""
    out: Dict[Tuple[str, int], RecordSummary] = {}
    for r in records:
        old = out.get((r.problem_id, r.epoch))
        if old is None or old.status != "ok" or r.status == "ok":
            out[(r.problem_id, r.epoch)] = r
    return out


def usage(records: List[RecordSummary]) -> UsageSummary:
    u = UsageSummary(records=len(records))
    if not records:
        return u
    items = list(latest(records).values())
    u.items, u.items_ok = len(items), sum(1 for r in items if r.status == "ok")
    u.problems = len({r.problem_id for r in items})
    u.prompt_tokens = sum(r.usage.prompt_tokens for r in records)
    u.completion_tokens = sum(r.usage.completion_tokens for r in records)
    u.reasoning_tokens = sum(r.usage.reasoning_tokens for r in records)
    u.item_prompt_mean = statistics.fmean(r.usage.prompt_tokens for r in items)
    completions = [r.usage.completion_tokens for r in items]
    u.item_completion_mean = statistics.fmean(completions)
    u.item_completion_median = statistics.median(completions)
    u.item_completion_max = max(completions)
    u.model_seconds = sum(r.duration_s for r in records)
    u.item_seconds_mean = statistics.fmean(r.duration_s for r in items)
    u.item_seconds_max = max(r.duration_s for r in items)
    starts = [r.started_at for r in records if parse_time(r.started_at)]
    ends = [r.finished_at for r in records if parse_time(r.finished_at)]
    u.first_started = min(starts, key=parse_time) if starts else None  # type: ignore[arg-type]  # unparsable ones filtered
    u.last_finished = max(ends, key=parse_time) if ends else None  # type: ignore[arg-type]  # unparsable ones filtered
    u.tool_calls = sum(len(r.tool_calls) for r in items)
    u.web_searches = sum(r.web_searches for r in items)
    return u


def tool_isolation(records: List[RecordSummary]) -> Set[str]:
    """The sandbox backends the python tool ran model-written code under."""
    return {c.isolation for r in records for c in r.tool_calls if c.isolation}


def record_checks(records: List[RecordSummary], skip: Set[int]) -> List[CheckCounts]:
    """Per epoch not in ``skip``: the latest ok records' own checks."""
    by_epoch: Dict[int, List[RecordSummary]] = {}
    for r in latest(records).values():
        if r.status == "ok" and r.epoch not in skip:
            by_epoch.setdefault(r.epoch, []).append(r)
    out = []
    for epoch, recs in by_epoch.items():
        per: Dict[str, int] = {}
        for r in recs:
            for c in r.checks:
                per[c.name] = per.get(c.name, 0) + int(c.passed)
        passed_all = sum(1 for r in recs if all(c.passed for c in r.checks))
        out.append(CheckCounts(epoch, len(recs), passed_all, per, "generations.jsonl (records' checks)"))
    return out
