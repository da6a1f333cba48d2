"""Everything a report says about one run, gathered from its folder's files.

Nothing here calls a model, the grader or a catalog: the numbers are what the
earlier stages stored (config.yaml, manifest.json, generations.jsonl,
batches/, requests/, results.json, catalog/).
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import RunFolderError
from ..fidelity import differences as official_differences
from ..provenance import Provenance, decide
from ..providers import is_offline
from ..runs import RunFolder, read_json, read_jsonl
from .catalog import ContextMetric, ModelMatch, PublishedScore, Snapshot
from ..config.report import ReportConfig
from .cost import Cost, Price, choose_price, config_price, cost_of
from .stats import EpochStats, epoch_stats


class _Usage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0


class _Check(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str
    passed: bool


class _Record(BaseModel):
    """The fields of a generation record that the report reads (the rest is ignored)."""

    model_config = ConfigDict(extra="ignore")
    problem_id: str
    epoch: int
    status: str = "ok"
    usage: _Usage = Field(default_factory=_Usage)
    checks: List[_Check] = Field(default_factory=list)
    tool_calls: List[Any] = Field(default_factory=list)
    web_searches: int = 0
    started_at: Optional[str] = None
    finished_at: Optional[str] = None
    duration_s: float = 0.0


@dataclass
class EpochResult:
    epoch: int
    accuracy: float  # fraction, as the grader returns it
    timeout_rate: float
    server_timeout_count: int
    judge_error_count: int
    graded_at: Optional[str]
    source: str


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
        a, b = _parse_time(self.first_started), _parse_time(self.last_finished)
        return (b - a).total_seconds() if a and b else None


@dataclass
class CatalogView:
    folder: str
    taken_at: Optional[str]
    shared: bool  # from report.catalog_dir, not the run's own snapshot
    attributions: List[str]
    matches: List[ModelMatch]
    published: List[PublishedScore]  # the run's model's CritPt scores
    context: List[ContextMetric]
    all_scores: List[PublishedScore]  # every CritPt score in the snapshot (for the leaderboard)


@dataclass
class RunData:
    path: Path
    label: str
    model_name: str
    provider: Optional[str]
    base_url: Optional[str]
    api: Optional[str]
    protocol: str  # two-step | one-step
    use_python: bool
    use_web_search: bool
    reasoning_effort: Optional[str]
    reasoning_tokens: Optional[int]
    epochs_planned: int
    dry_run_config: bool
    dataset_sha256: Optional[str]
    prompt_hash: Optional[str]
    config_hash: Optional[str]
    created_at: Optional[str]
    git_revision: Optional[str]
    harness_version: Optional[str]
    epochs: List[EpochResult]
    stats: EpochStats
    checks: List[CheckCounts]
    usage: UsageSummary
    price: Optional[Price]
    cost: Optional[Cost]
    catalog: Optional[CatalogView]
    provenance: Provenance  # what the score is and who graded it: decides labels and ranking
    dry_run_requests: List[str] = field(default_factory=list)  # request files a dry run wrote
    notes: List[str] = field(default_factory=list)
    local_epochs: List[EpochResult] = field(default_factory=list)  # local_grades.json beside an official score
    isolation: Dict[str, List[str]] = field(default_factory=dict)  # where model code ran: tools / checks -> backends
    differences: List[str] = field(default_factory=list)  # settings that differ from the official set-up
    prompts_source: Optional[str] = None  # official | own (manifest `prompts`); None: not recorded
    queued: Dict[str, Any] = field(default_factory=dict)  # manifest `queued`: epochs waiting in the grading queue

    @property
    def prompts_label(self) -> str:
        return {"official": "official prompts",
                "own": "paraphrased prompts (not comparable to published scores)"}.get(self.prompts_source or "", "")

    @property
    def graded(self) -> bool:
        return bool(self.epochs)

    @property
    def tools(self) -> str:
        on = [n for n, flag in (("python", self.use_python), ("web search", self.use_web_search)) if flag]
        return " + ".join(on) if on else "none"

    @property
    def effort(self) -> str:
        parts = []
        if self.reasoning_effort:
            parts.append(self.reasoning_effort)
        if self.reasoning_tokens:
            parts.append(f"{self.reasoning_tokens:,}-token budget")
        return ", ".join(parts) or "provider default"

    @property
    def cost_per_epoch(self) -> Optional[float]:
        if self.cost is None or self.epochs_planned < 1:
            return None
        return self.cost.total_usd / self.epochs_planned

    @property
    def graded_dates(self) -> List[str]:
        return sorted(e.graded_at for e in self.epochs if e.graded_at)


def _parse_time(text: Optional[str]) -> Optional[datetime]:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _read(file: Path) -> Optional[Dict[str, Any]]:
    return read_json(file) if file.exists() else None


def _epochs(data: Optional[Dict[str, Any]], file: Path, notes: List[str]) -> List[EpochResult]:
    """Graded epochs from results.json (the submitter's) or local_grades.json (grade-local)."""
    if not data:
        return []
    out = []
    for key, e in (data.get("epochs") or {}).items():
        try:
            out.append(EpochResult(int(key), float(e["accuracy"]), float(e.get("timeout_rate") or 0.0),
                                   int(e.get("server_timeout_count") or 0), int(e.get("judge_error_count") or 0),
                                   e.get("graded_at"), str(e.get("source") or "")))
        except (KeyError, TypeError, ValueError):
            notes.append(f"{file}: epoch {key!r} has no usable accuracy; left out")
    return sorted(out, key=lambda e: e.epoch)


def _records(run: RunFolder, notes: List[str]) -> List[_Record]:
    out, bad = [], 0
    for raw in read_jsonl(run.generations_file):
        try:
            out.append(_Record.model_validate(raw))
        except ValidationError:
            bad += 1
    if bad:
        notes.append(f"{run.generations_file}: {bad} records do not match the schema; left out")
    return out


def _latest(records: List[_Record]) -> Dict[tuple, _Record]:
    """The newest record per (problem, epoch), an ok one winning (as generate does)."""
    latest: Dict[tuple, _Record] = {}
    for r in records:
        old = latest.get((r.problem_id, r.epoch))
        if old is None or old.status != "ok" or r.status == "ok":
            latest[(r.problem_id, r.epoch)] = r
    return latest


def _usage(records: List[_Record]) -> UsageSummary:
    u = UsageSummary(records=len(records))
    if not records:
        return u
    latest = _latest(records)
    items = list(latest.values())
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
    starts = [r.started_at for r in records if _parse_time(r.started_at)]
    ends = [r.finished_at for r in records if _parse_time(r.finished_at)]
    u.first_started = min(starts, key=_parse_time) if starts else None  # type: ignore[arg-type]  # unparsable ones filtered
    u.last_finished = max(ends, key=_parse_time) if ends else None  # type: ignore[arg-type]  # unparsable ones filtered
    u.tool_calls = sum(len(r.tool_calls) for r in items)
    u.web_searches = sum(r.web_searches for r in items)
    return u


def _isolation(run: RunFolder, records: List[_Record]) -> Dict[str, List[str]]:
    """The sandbox backends model-written code ran under, from the tool calls and the checks files."""
    tools = {str(c.get("isolation")) for r in records for c in r.tool_calls if isinstance(c, dict) and c.get("isolation")}
    checks: set = set()
    if run.batches_dir.exists():
        for path in run.batches_dir.glob("epoch_*.checks.json"):
            try:
                checks.update(read_json(path).get("isolation") or [])
            except (RunFolderError, AttributeError):
                continue
    return {k: sorted(v) for k, v in (("python tool", tools), ("execution checks", checks)) if v}


def _checks(run: RunFolder, records: List[_Record]) -> List[CheckCounts]:
    """Per epoch: from batches/epoch_N.checks.json (what the submission saw), else the records."""
    out: Dict[int, CheckCounts] = {}
    if run.batches_dir.exists():
        for path in sorted(run.batches_dir.glob("epoch_*.checks.json")):
            stem = path.name.split(".")[0].split("_")[-1]
            if not stem.isdigit():
                continue
            try:
                data = read_json(path)
            except RunFolderError:
                continue
            out[int(stem)] = CheckCounts(int(stem), int(data.get("problems") or 0), int(data.get("passed_all") or 0),
                                         dict(data.get("passed_per_check") or {}), str(path.relative_to(run.path)),
                                         len(data.get("not_executable") or []))
    by_epoch: Dict[int, List[_Record]] = {}
    for r in _latest(records).values():
        if r.status == "ok" and r.epoch not in out:
            by_epoch.setdefault(r.epoch, []).append(r)
    for epoch, recs in by_epoch.items():
        per: Dict[str, int] = {}
        for r in recs:
            for c in r.checks:
                per[c.name] = per.get(c.name, 0) + int(c.passed)
        passed_all = sum(1 for r in recs if all(c.passed for c in r.checks))
        out[epoch] = CheckCounts(epoch, len(recs), passed_all, per, "generations.jsonl (records' checks)")
    return [out[k] for k in sorted(out)]


def _snapshot(run: RunFolder, manifest: Dict[str, Any], cfg: ReportConfig) -> Optional[tuple]:
    """(Snapshot, shared?) — the run's own snapshot, else report.catalog_dir."""
    rel = (manifest.get("catalog_snapshot") or {}).get("dir") or "catalog"
    own = run.path / rel
    if Snapshot.exists_at(own):
        return Snapshot(own, run.path), False
    if cfg.catalog_dir:
        shared = Path(cfg.catalog_dir)
        if not Snapshot.exists_at(shared):
            raise RunFolderError(f"report.catalog_dir={cfg.catalog_dir}: no catalog snapshot there (no index.json); "
                                 "take one with `critpt-harness catalog` or drop the option")
        return Snapshot(shared), True
    return None


def load_run(path: Path, cfg: ReportConfig) -> RunData:
    """Read one run folder; a folder without results is fine (it is 'not graded')."""
    run = RunFolder(path)
    if not run.path.exists():
        raise RunFolderError(f"run folder {run.path} does not exist: check run_dir or report.runs")
    if not run.config_file.exists():
        raise RunFolderError(f"{run.path} is not a run folder (no config.yaml): point run_dir or report.runs at "
                             "a folder made by `critpt-harness run`")
    try:
        stored = yaml.safe_load(run.config_file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise RunFolderError(f"{run.config_file}: not valid YAML ({exc}); restore it from the run") from exc
    manifest = run.manifest()
    model, gen = stored.get("model") or {}, stored.get("generation") or {}
    notes: List[str] = []
    name = str(model.get("name") or manifest.get("model") or "?")
    label = str(model.get("label") or name)
    records = _records(run, notes)
    local_file = run.path / "local_grades.json"
    results, local = _read(run.results_file), _read(local_file)  # read once: the epochs and the provenance
    epochs, local_epochs = _epochs(results, run.results_file, notes), _epochs(local, local_file, notes)
    if not epochs:  # grade-local's grades are the score when nothing was submitted
        epochs, local_epochs = local_epochs, []
    checks = _checks(run, records)
    requests_dir = run.path / "requests"
    dry_requests = sorted(str(p.relative_to(run.path)) for p in requests_dir.glob("epoch_*.request.json")) \
        if requests_dir.exists() else []
    prov = decide(stored, manifest, results, local, max((c.problems for c in checks), default=None),
                  bool(dry_requests))
    stats = epoch_stats(prov.accuracies)
    usage = _usage(records)

    catalog: Optional[CatalogView] = None
    prices = []
    found = _snapshot(run, manifest, cfg)
    if found is not None and not is_offline(model.get("provider") or name):
        snap, shared = found
        matches = snap.matches(name, model.get("label"), dict(model.get("catalog_ids") or {}))
        published = [s for m in matches for s in snap.published_for(m)]
        context = [c for m in matches for c in snap.context_for(m)]
        prices = [p for m in matches for p in snap.prices_for(m)]
        catalog = CatalogView(snap.shown(snap.folder) if not shared else str(snap.folder), snap.taken_at, shared,
                              snap.attributions(), matches, published, context, snap.critpt_scores())
    elif found is not None:
        notes.append("the built-in mock model has no catalog entry: no published comparison for it")
    pricing = model.get("pricing") or {}
    run_price = Price(float(pricing["input_per_million"]), float(pricing["output_per_million"]),
                      "model.pricing (the run's config.yaml)") \
        if pricing.get("input_per_million") is not None and pricing.get("output_per_million") is not None else None
    # The rate the run was configured with (model.pricing), then the catalogs', then the report's own
    # (report.prefer_config_prices puts the report's first).
    preferred = config_price(cfg, [label, name]) if cfg.prefer_config_prices else None
    price = preferred or run_price or choose_price(cfg, [label, name], prices)
    cost = cost_of(usage.prompt_tokens, usage.completion_tokens, price)

    evaluator = stored.get("evaluator") or {}
    planned = int(gen.get("epochs") or 0)
    if epochs and planned and len(epochs) < planned:
        notes.append(f"{len(epochs)} of {planned} epochs graded; the published scores average 5 epochs")
    if usage.records and usage.items_ok < usage.items:
        notes.append(f"{usage.items - usage.items_ok} of {usage.items} items failed in generation "
                     "(see generations.jsonl)")
    return RunData(
        path=run.path, label=label, model_name=name, provider=model.get("provider"), base_url=model.get("base_url"),
        api=model.get("api"), protocol="one-step" if gen.get("parsing") else "two-step",
        use_python=bool(gen.get("use_python")), use_web_search=bool(gen.get("use_web_search")),
        reasoning_effort=model.get("reasoning_effort"), reasoning_tokens=model.get("reasoning_tokens"),
        epochs_planned=planned, dry_run_config=bool(evaluator.get("dry_run", True)),
        dataset_sha256=manifest.get("dataset_sha256"), prompt_hash=manifest.get("prompt_hash"),
        config_hash=manifest.get("config_hash"), created_at=manifest.get("created_at"),
        git_revision=manifest.get("git_revision"), harness_version=(manifest.get("packages") or {}).get("critpt-harness"),
        epochs=epochs, stats=stats, checks=checks, usage=usage, price=price, cost=cost,
        catalog=catalog, provenance=prov, dry_run_requests=dry_requests, notes=notes, local_epochs=local_epochs,
        isolation=_isolation(run, records), differences=official_differences(stored, manifest),
        queued=dict(manifest.get("queued") or {}),
        prompts_source=(manifest.get("prompts") or {}).get("source")
        or ("official" if manifest.get("prompt_hash") == "official" else None))


def dump(data: Any) -> str:
    """The gathered numbers as JSON (report.json), for scripts."""
    from dataclasses import asdict, is_dataclass

    def default(obj: Any) -> Any:
        if is_dataclass(obj):
            return asdict(obj)  # type: ignore[arg-type]  # instances only reach json.dumps
        return str(obj)

    return json.dumps(data, indent=2, default=default, ensure_ascii=False) + "\n"
