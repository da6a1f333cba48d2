"""Per problem x epoch outcomes of a run, from its stored files: what the viewer's grid, the item
table and the paired comparison read.

- generation: the newest record's status (generations.jsonl), and its static checks;
- pre-submission checks: batches/epoch_N.checks.json (static and executed, per answered problem);
- local verdict: local_grades.json (grade-local), else results.json epochs that carry per-problem
  statuses (serve-grader). The official grader returns aggregates only: no verdicts from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Set, Tuple

from ..contracts import ChecksFile, RecordSummary
from ..errors import RunFolderError
from ..runfiles import NewerVersionError, read_json, read_run_file
from ..runs import RunFolder
from .records import latest

Key = Tuple[str, int]
CORRECT = "correct"


@dataclass
class ItemOutcome:
    problem_id: str
    epoch: int
    generation: Optional[str] = None  # ok | failed; None: no record (yet)
    static_failed: Optional[List[str]] = None  # names of the record's failed static checks; None: no checks
    checks_passed: Optional[bool] = None  # passed every pre-submission check of its epoch; None: not assembled
    check_failures: List[str] = field(default_factory=list)
    execution: Optional[Dict[str, Any]] = None  # the execution check's entry (status, returned, problems, sandbox)
    verdict: Optional[str] = None  # correct | incorrect | timeout | not_gradable | judge_error; None: not graded here
    verdict_reason: str = ""

    @property
    def executed(self) -> Optional[str]:
        """pass | fail | skipped (the execution check); None: not run."""
        return None if self.execution is None else self.execution.get("status")

    @property
    def static_passed(self) -> Optional[bool]:
        return None if self.static_failed is None else not self.static_failed


@dataclass
class RunOutcomes:
    problems: List[str]  # in the run's order (the manifest's, then any others seen)
    epochs: List[int]
    items: Dict[Key, ItemOutcome]
    checked_epochs: Set[int] = field(default_factory=set)  # epochs with a checks file
    verdict_epochs: Set[int] = field(default_factory=set)  # epochs with per-problem local verdicts
    verdict_source: str = ""  # the file the verdicts come from

    def get(self, problem_id: str, epoch: int) -> ItemOutcome:
        return self.items.get((problem_id, epoch)) or ItemOutcome(problem_id, epoch)

    def scores(self, measure: str) -> Dict[str, List[int]]:
        """Per problem, its 0/1 outcomes over the epochs that have the measure: ``verdict`` (correct
        in a local grading) or ``checks`` (passed every pre-submission check)."""
        epochs = self.verdict_epochs if measure == "verdict" else self.checked_epochs
        out: Dict[str, List[int]] = {}
        for pid in self.problems:
            for e in sorted(epochs):
                item = self.get(pid, e)
                if measure == "verdict":
                    if item.verdict is not None:
                        out.setdefault(pid, []).append(int(item.verdict == CORRECT))
                else:  # a problem not answered in an assembled epoch did not pass its checks
                    out.setdefault(pid, []).append(int(bool(item.checks_passed)))
        return out


def _epoch_files(folder: Path, pattern: str) -> Iterable[Tuple[int, Path]]:
    if not folder.is_dir():
        return []
    out = []
    for path in folder.glob(pattern):
        stem = path.name.split(".")[0].rpartition("_")[2]
        if stem.isdigit():
            out.append((int(stem), path))
    return sorted(out)


def _verdicts(run: RunFolder) -> Tuple[Dict[int, Dict[str, Dict[str, Any]]], str]:
    """{epoch: {problem: {status, reason}}} from grade-local, else from a local server's replies."""
    for name in ("local_grades.json", "results.json"):
        path = run.path / name
        if not path.exists():
            continue
        try:
            data = read_json(path)
        except NewerVersionError:
            raise
        except RunFolderError:
            continue
        found = {int(k): e["problems"] for k, e in (data.get("epochs") or {}).items()
                 if str(k).isdigit() and isinstance(e, dict) and isinstance(e.get("problems"), dict)}
        if found:
            return found, name
    return {}, ""


def read_outcomes(path: Path, records: Optional[Iterable[RecordSummary]] = None) -> RunOutcomes:
    """The outcomes of the run at ``path``; ``records`` (the newest per item wins, an ok one over
    failures) add the generation status and static checks."""
    run = RunFolder(path)
    items: Dict[Key, ItemOutcome] = {}

    def item(pid: str, epoch: int) -> ItemOutcome:
        return items.setdefault((pid, epoch), ItemOutcome(pid, epoch))

    seen: List[str] = []
    for r in latest(list(records or ())).values():
        it = item(r.problem_id, r.epoch)
        it.generation = r.status
        it.static_failed = [c.name for c in r.checks if not c.passed] if r.checks else None
        seen.append(r.problem_id)
    checked: Set[int] = set()
    for epoch, file in _epoch_files(run.batches_dir, "epoch_*.checks.json"):
        try:
            checks = read_run_file(file, ChecksFile).as_dict()
        except NewerVersionError:
            raise
        except RunFolderError:
            continue
        checked.add(epoch)
        failures = checks.get("failures") or {}
        answered = checks.get("answered")
        for pid in answered if isinstance(answered, list) else []:
            it = item(str(pid), epoch)
            it.checks_passed = pid not in failures
        for pid, bad in failures.items():
            it = item(str(pid), epoch)
            it.checks_passed = False
            it.check_failures = [str(b) for b in bad]
        for pid, e in (checks.get("execution") or {}).items():
            if isinstance(e, dict):
                item(str(pid), epoch).execution = e
        seen += [str(p) for p in answered or []]
    verdicts, source = _verdicts(run)
    for epoch, problems in verdicts.items():
        for pid, v in problems.items():
            it = item(str(pid), epoch)
            it.verdict = str(v.get("status")) if isinstance(v, dict) else str(v)
            it.verdict_reason = str(v.get("reason") or "") if isinstance(v, dict) else ""
            seen.append(str(pid))
    manifest = run.manifest() if run.manifest_file.exists() else {}
    order = list(dict.fromkeys([*(manifest.get("problem_ids") or []), *seen]))
    epochs = sorted({e for _, e in items} | checked | set(verdicts))
    return RunOutcomes(order, epochs, items, checked, set(verdicts), source)
