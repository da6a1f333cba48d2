"""One run as the readers see it: the report's numbers (load_run: the same score label, cost and
usage as report.md), its per-item outcomes, and rows of plain values per run, epoch and item.

The viewer's pages and the DataFrames are built from these rows, so both say the same. Nothing
here needs pandas.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from ..config.identity import identity
from ..config.report import ReportConfig
from ..contracts import RecordSummary, TurnTiming
from ..report.cost import cost_of
from ..report.data import RunData, load_run
from ..report.leaderboard import display_names
from ..report.outcomes import RunOutcomes, read_outcomes
from ..report.records import latest, read_records
from ..runs import RunFolder

# Runs made before versions were recorded answered the pinned public set.
PINNED_PUBLIC = "public set @17c2545 (version not recorded)"


class ItemSummary(RecordSummary):
    """RecordSummary plus what the item table shows (same names and types as GenerationRecord)."""

    error: Optional[str] = None
    fatal: Optional[str] = None
    turns: List[TurnTiming] = []
    notes: List[str] = []


@dataclass
class RunView:
    path: Path
    name: str  # tells runs apart (the report's display name)
    data: RunData  # the report's numbers
    config: Dict[str, Any]  # config.yaml
    manifest: Dict[str, Any]
    records: List[ItemSummary]  # every line of generations.jsonl, in order
    outcomes: RunOutcomes

    @property
    def latest(self) -> Dict[Tuple[str, int], RecordSummary]:
        return latest(self.records)  # type: ignore[arg-type]  # ItemSummary is a RecordSummary


def read_items(path: Path, notes: List[str]) -> List[ItemSummary]:
    return read_records(RunFolder(path), notes, ItemSummary)  # type: ignore[return-value]


def load(path: Path, cfg: Optional[ReportConfig] = None, records: Optional[List[ItemSummary]] = None) -> RunView:
    """The run at ``path``; ``records``: its generations.jsonl already read (the viewer's index)."""
    run = RunFolder(path)
    notes: List[str] = []
    items = read_items(path, notes) if records is None else records
    data = load_run(path, cfg or ReportConfig(), records=items)  # type: ignore[arg-type]  # ItemSummary is one
    data.notes[:0] = notes
    return RunView(Path(path), data.label, data, run.stored_config(), run.manifest(), items,
                   read_outcomes(path, items))


def named(views: List[RunView]) -> List[RunView]:
    """Display names that tell runs apart, as the report gives them (report.leaderboard.display_names)."""
    names = display_names([v.data for v in views])
    for v in views:
        v.name = names[v.data.path]
    return views


def set_version(view: RunView) -> str:
    """Which version of the problem set: the manifest's record (as the provenance reads it), else the
    configured one."""
    p = view.data.provenance
    if not p.public_set:
        return "private set"  # a private set has no CritPt version, whatever dataset.version says
    if p.version:
        return str(p.version)
    configured = (view.config.get("dataset") or {}).get("version")
    return str(configured) if configured else PINNED_PUBLIC


def _plain(value: Any) -> Any:
    """A table cell: lists and dicts as JSON text."""
    return json.dumps(value, sort_keys=True, default=str) if isinstance(value, (list, dict)) else value


def stages(view: RunView) -> Dict[str, str]:
    """What each stage has done, in words: generated, assembled, checked, graded."""
    d, planned = view.data, len(view.manifest.get("problem_ids") or []) * max(view.data.epochs_planned, 1)
    batches = sorted(RunFolder(view.path).batches_dir.glob("epoch_*[0-9].json")) \
        if RunFolder(view.path).batches_dir.exists() else []
    checks = [c for c in d.checks if c.source.startswith("batches/")]
    prov = d.provenance
    graded = f"{prov.kind}, {prov.epochs}/{d.epochs_planned} epochs" if prov.epochs else prov.kind
    return {"generated": f"{d.usage.items_ok}/{planned or d.usage.items} ok"
                         + (f", {d.usage.items - d.usage.items_ok} failed" if d.usage.items > d.usage.items_ok else ""),
            "assembled": f"{len(batches)} epoch{'s' if len(batches) != 1 else ''}" if batches else "no",
            "checked": f"{sum(c.passed_all for c in checks)}/{sum(c.problems for c in checks)} passed" if checks
            else "no",
            "graded": graded}


RECENT_S = 600  # a run whose records changed this recently, with items still to come, is taken as going on


def in_progress(view: RunView) -> bool:
    """Generation has not reached every planned item and wrote a record lately (a run stopped early is not)."""
    planned = len(view.manifest.get("problem_ids") or []) * max(view.data.epochs_planned, 1)
    if not planned or view.data.usage.items >= planned:
        return False
    try:
        return time.time() - RunFolder(view.path).generations_file.stat().st_mtime < RECENT_S
    except FileNotFoundError:
        return False


# The rows: each field is a column (named after it, typed by its annotation, in this order); a dict
# field becomes one column per key ("<field>.<key>", or the key itself for the config's settings).
@dataclass
class RunRow:
    run: str  # tells runs apart (label, plus the folder when labels repeat)
    path: str
    model: str  # model.name
    label: str
    provider: Optional[str]
    set_version: str  # which version of the problem set
    dataset_sha256: Optional[str]
    prompts: Optional[str]  # official | own
    protocol: str  # two-step | one-step
    tools: str
    effort: str
    grading: str  # official | local | dry run | not graded (provenance.kind)
    score_label: str  # the report's label, e.g. "LOCAL grading, 70 problems"
    ranked: bool  # may stand among the official scores
    graded_by: str
    problems: Optional[int]
    epochs_planned: int
    epochs_graded: int
    distinct_gradings: int
    mean: Optional[float]  # accuracy, a fraction, over the distinct gradings
    stderr: Optional[float]
    ci_low: Optional[float]  # 95% t-interval
    ci_high: Optional[float]
    epoch_scores: str  # JSON {epoch: accuracy}
    items: int
    items_ok: int
    items_failed: int
    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int
    cost_usd: Optional[float]
    price_source: Optional[str]
    item_seconds_mean: Optional[float]
    item_seconds_max: Optional[float]
    elapsed_seconds: Optional[float]
    tool_calls: int
    web_searches: int
    checks_problems: int  # answers checked before submission, over the epochs
    checks_passed: int  # of those, passing every check
    local_correct_rate: Optional[float]  # correct share of the local per-problem verdicts
    differences: str  # JSON list: settings that differ from the official set-up
    created_at: Optional[str]
    git_revision: Optional[str]
    harness_version: Optional[str]
    stage: Dict[str, str] = field(default_factory=dict)  # generated / assembled / checked / graded, in words
    settings: Dict[str, Any] = field(default_factory=dict)  # every identity setting, by config key


@dataclass
class EpochRow:
    run: str
    path: str
    model: str
    label: str
    epoch: int
    grading: str
    score_label: str
    accuracy: Optional[float]  # this epoch's grading
    graded_at: Optional[str]
    graded_by: Optional[str]
    timeout_rate: Optional[float]
    judge_error_count: Optional[int]
    local_accuracy: Optional[float]  # grade-local's, beside a submitted score
    items: int
    items_ok: int
    prompt_tokens: int  # every attempt, as paid for
    completion_tokens: int
    cost_usd: Optional[float]
    item_seconds_mean: Optional[float]
    tool_calls: int
    checks_problems: Optional[int]
    checks_passed: Optional[int]


@dataclass
class ItemRow:
    run: str
    path: str
    model: str
    label: str
    problem_id: str
    epoch: int
    status: str  # ok | failed (the newest record; an ok one wins)
    error: Optional[str]  # its first line
    fatal: Optional[str]
    records: int  # lines for this item in generations.jsonl (attempts after failures)
    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int
    cost_usd: Optional[float]
    duration_s: float
    started_at: str
    finished_at: str
    model_calls: int
    retries: int  # extra attempts of those calls
    latency_s: float  # sum of the calls' latencies
    tool_calls: int
    tool_seconds: float
    web_searches: int
    static_passed: Optional[bool]
    checks_passed: Optional[bool]  # every pre-submission check of its epoch (static and executed)
    executed: Optional[str]  # pass | fail | skipped
    verdict: Optional[str]  # local grading: correct | incorrect | timeout | not_gradable | judge_error
    verdict_reason: Optional[str]
    check: Dict[str, bool] = field(default_factory=dict)  # each static check


def run_row(view: RunView) -> RunRow:
    d, prov, u = view.data, view.data.provenance, view.data.usage
    correct = [x for v in view.outcomes.scores("verdict").values() for x in v]
    return RunRow(
        view.name, str(view.path), d.model_name, d.label, d.provider, set_version(view),
        d.dataset_sha256, d.prompts_source, d.protocol, d.tools, d.effort, prov.kind, prov.label, prov.ranked,
        prov.grader, prov.problems, d.epochs_planned, prov.epochs, prov.distinct, d.stats.mean, d.stats.stderr,
        d.stats.ci_low, d.stats.ci_high, _plain({str(e.epoch): e.accuracy for e in d.epochs}), u.items, u.items_ok,
        u.items - u.items_ok, u.prompt_tokens, u.completion_tokens, u.reasoning_tokens,
        d.cost.total_usd if d.cost else None, d.price.source if d.price else None, u.item_seconds_mean,
        u.item_seconds_max, u.elapsed_seconds, u.tool_calls, u.web_searches, sum(c.problems for c in d.checks),
        sum(c.passed_all for c in d.checks), sum(correct) / len(correct) if correct else None,
        _plain(d.differences), d.created_at, d.git_revision, d.harness_version, stages(view),
        {k: _plain(v) for k, v in identity(view.config).items()})


def epoch_rows(view: RunView) -> List[EpochRow]:
    d = view.data
    graded = {e.epoch: e for e in d.epochs}
    local = {e.epoch: e for e in d.local_epochs}
    checks = {c.epoch: c for c in d.checks}
    items: Dict[int, List[RecordSummary]] = {}
    for r in view.latest.values():
        items.setdefault(r.epoch, []).append(r)
    spent: Dict[int, List[int]] = {}
    for r in view.records:  # every attempt is paid for
        tokens = spent.setdefault(r.epoch, [0, 0])
        tokens[0] += r.usage.prompt_tokens
        tokens[1] += r.usage.completion_tokens
    rows = []
    for epoch in sorted(set(graded) | set(items) | set(checks) | set(local)):
        g, c, recs = graded.get(epoch), checks.get(epoch), items.get(epoch, [])
        tokens = spent.get(epoch, [0, 0])
        cost = cost_of(tokens[0], tokens[1], d.price)
        rows.append(EpochRow(
            view.name, str(view.path), d.model_name, d.label, epoch, d.provenance.kind, d.provenance.label,
            g.accuracy if g else None, g.graded_at if g else None, g.source if g else None,
            g.timeout_rate if g else None, g.judge_error_count if g else None,
            local[epoch].accuracy if epoch in local else None, len(recs), sum(r.status == "ok" for r in recs),
            tokens[0], tokens[1], cost.total_usd if cost else None,
            sum(r.duration_s for r in recs) / len(recs) if recs else None, sum(len(r.tool_calls) for r in recs),
            c.problems if c else None, c.passed_all if c else None))
    return rows


def item_rows(view: RunView) -> List[ItemRow]:
    d = view.data
    attempts: Dict[Tuple[str, int], int] = {}
    for line in view.records:
        attempts[(line.problem_id, line.epoch)] = attempts.get((line.problem_id, line.epoch), 0) + 1
    rows = []
    for (pid, epoch), newest in sorted(view.latest.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        rec: ItemSummary = newest  # type: ignore[assignment]  # latest() of ItemSummary lines
        out = view.outcomes.get(pid, epoch)
        cost = cost_of(rec.usage.prompt_tokens, rec.usage.completion_tokens, d.price)
        rows.append(ItemRow(
            view.name, str(view.path), d.model_name, d.label, pid, epoch, rec.status,
            rec.error.splitlines()[0][:300] if rec.error else None, rec.fatal, attempts[(pid, epoch)],
            rec.usage.prompt_tokens, rec.usage.completion_tokens, rec.usage.reasoning_tokens,
            cost.total_usd if cost else None, rec.duration_s, rec.started_at, rec.finished_at, len(rec.turns),
            sum(max(t.attempts - 1, 0) for t in rec.turns), sum(t.latency_s for t in rec.turns), len(rec.tool_calls),
            sum(c.duration_s or 0.0 for c in rec.tool_calls), rec.web_searches, out.static_passed,
            out.checks_passed, out.executed, out.verdict, out.verdict_reason or None,
            {c.name: c.passed for c in rec.checks}))
    return rows
