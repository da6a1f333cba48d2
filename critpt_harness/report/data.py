"""Everything a report says about one run, gathered from its folder's files.

Nothing here calls a model, the grader or a catalog: the numbers are what the
earlier stages stored (config.yaml, manifest.json, generations.jsonl,
batches/, requests/, results.json, catalog/).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Set, Tuple, Type, TypeVar

import yaml

from ..contracts import ChecksFile, EpochGrade, LocalGradesFile, Manifest, RecordSummary, ResultsFile, RunFile
from ..errors import RunFolderError
from ..fidelity import differences as official_differences
from ..provenance import Provenance, decide
from ..providers import is_offline
from ..runfiles import NewerVersionError, read_run_file
from ..runs import RunFolder
from .catalog import CatalogPrice, ContextMetric, ModelMatch, PublishedScore, Snapshot
from ..config.report import ReportConfig
from .cost import Cost, Price, choose_price, config_price, cost_of
from .records import CheckCounts, UsageSummary, read_records, record_checks, tool_isolation, usage
from .stats import EpochStats, epoch_stats

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's when PyYAML has it: several times faster
F = TypeVar("F", bound=RunFile)
__all__ = ["CatalogView", "CheckCounts", "EpochResult", "RunData", "UsageSummary", "dump", "load_run"]


@dataclass
class EpochResult:
    epoch: int
    accuracy: float  # fraction, as the grader returns it
    timeout_rate: float
    server_timeout_count: int
    judge_error_count: int
    graded_at: Optional[str]
    source: str
    # problem -> (status, reason), where the grader gave them (grade-local, serve-grader with reasons)
    verdicts: Dict[str, Tuple[str, str]] = field(default_factory=dict)


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
    score_file: Optional[str] = None  # results.json or local_grades.json: where the score's epochs come from

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


def _read(path: Path, model: Type[F]) -> Optional[F]:
    return read_run_file(path, model) if path.exists() else None


def _epochs(grades: Dict[str, EpochGrade], file: Path, notes: List[str], graded_at: Optional[str] = None,
            source: str = "") -> List[EpochResult]:
    """Graded epochs from results.json (the submitter's) or local_grades.json (grade-local, which
    dates the file, not each epoch: ``graded_at`` and ``source`` fill in what an epoch lacks)."""
    out = []
    for key, e in grades.items():
        if not key.isdigit():
            notes.append(f"{file}: epoch {key!r} is not an epoch number; left out")
            continue
        verdicts = {pid: (str(v.get("status", "?")), str(v.get("reason") or "")) for pid, v in e.problems.items()
                    if isinstance(v, dict)}
        out.append(EpochResult(int(key), e.accuracy, e.timeout_rate or 0.0, e.server_timeout_count or 0,
                               e.judge_error_count or 0, e.graded_at or graded_at, e.source or source or file.name,
                               verdicts))
    return sorted(out, key=lambda e: e.epoch)


def _checks_files(run: RunFolder) -> Tuple[List[CheckCounts], Set[str]]:
    """batches/epoch_N.checks.json (what the submission saw): the counts per epoch, and the sandbox
    backends the execution checks ran under. A damaged file is left out; a newer one is refused."""
    out, isolation = [], set()
    for path in sorted(run.batches_dir.glob("epoch_*.checks.json")) if run.batches_dir.exists() else []:
        stem = path.name.split(".")[0].split("_")[-1]
        try:
            data = read_run_file(path, ChecksFile)
        except NewerVersionError:
            raise
        except RunFolderError:
            continue
        isolation.update(data.isolation)
        if data.execution_skipped:
            isolation.add("skipped")
        if stem.isdigit():
            out.append(CheckCounts(int(stem), data.problems, data.passed_all, dict(data.passed_per_check),
                                   str(path.relative_to(run.path)), len(data.not_executable)))
    return out, isolation


def _snapshot(run: RunFolder, manifest: Manifest, cfg: ReportConfig) -> Optional[tuple]:
    """(Snapshot, shared?) — the run's own snapshot, else report.catalog_dir."""
    own = run.path / ((manifest.catalog_snapshot.dir if manifest.catalog_snapshot else None) or "catalog")
    if Snapshot.exists_at(own):
        return Snapshot(own, run.path), False
    if cfg.catalog_dir:
        shared = Path(cfg.catalog_dir)
        if not Snapshot.exists_at(shared):
            raise RunFolderError(f"report.catalog_dir={cfg.catalog_dir}: no catalog snapshot there (no index.json); "
                                 "take one with `critpt-harness catalog` or drop the option")
        return Snapshot(shared), True
    return None


def load_run(path: Path, cfg: ReportConfig, records: Optional[List[RecordSummary]] = None) -> RunData:
    """Read one run folder; a folder without results is fine (it is 'not graded'). ``records``: the
    summaries of generations.jsonl when the caller has read them already (the viewer's index)."""
    run = RunFolder(path)
    if not run.path.exists():
        raise RunFolderError(f"run folder {run.path} does not exist: check run_dir or report.runs")
    if not run.config_file.exists():
        raise RunFolderError(f"{run.path} is not a run folder (no config.yaml): point run_dir or report.runs at "
                             "a folder made by `critpt-harness run`")
    try:
        stored = yaml.load(run.config_file.read_text(encoding="utf-8"), Loader=_YAML_LOADER) or {}
    except yaml.YAMLError as exc:
        raise RunFolderError(f"{run.config_file}: not valid YAML ({exc}); restore it from the run") from exc
    manifest = _read(run.manifest_file, Manifest) or Manifest()
    local_file = run.path / "local_grades.json"
    results = _read(run.results_file, ResultsFile)  # read once: the epochs and the provenance
    local = _read(local_file, LocalGradesFile)
    model, gen = stored.get("model") or {}, stored.get("generation") or {}
    notes: List[str] = []
    name = str(model.get("name") or manifest.model or "?")
    label = str(model.get("label") or name)
    records = read_records(run, notes) if records is None else records
    epochs = _epochs(results.epochs, run.results_file, notes) if results else []
    local_epochs = _epochs(local.epochs, local_file, notes, local.graded_at,
                           "grade-local" + (f", golden answers from {local.golden_set}" if local.golden_set
                                            else "")) if local else []
    score_file = run.results_file.name if epochs else None
    if not epochs:  # grade-local's grades are the score when nothing was submitted
        epochs, local_epochs = local_epochs, []
        score_file = local_file.name if epochs else None
    checks, check_isolation = _checks_files(run)
    checks = sorted(checks + record_checks(records, {c.epoch for c in checks}), key=lambda c: c.epoch)
    requests_dir = run.path / "requests"
    dry_requests = sorted(str(p.relative_to(run.path)) for p in requests_dir.glob("epoch_*.request.json")) \
        if requests_dir.exists() else []
    prov = decide(stored, manifest.as_dict(), results.as_dict() if results else None,
                  local.as_dict() if local else None, max((c.problems for c in checks), default=None),
                  bool(dry_requests))
    used = usage(records)
    catalog, prices = _catalog(run, manifest, cfg, model, name, notes)
    price = _price(cfg, model, [label, name], prices)
    isolation = {k: sorted(v) for k, v in (("python tool", tool_isolation(records)),
                                           ("execution checks", check_isolation)) if v}
    evaluator = stored.get("evaluator") or {}
    planned = int(gen.get("epochs") or 0)
    if epochs and planned and len(epochs) < planned:
        notes.append(f"{len(epochs)} of {planned} epochs graded; the published scores average 5 epochs")
    if used.records and used.items_ok < used.items:
        notes.append(f"{used.items - used.items_ok} of {used.items} items failed in generation "
                     "(see generations.jsonl)")
    return RunData(
        path=run.path, label=label, model_name=name, provider=model.get("provider"), base_url=model.get("base_url"),
        api=model.get("api"), protocol="one-step" if gen.get("parsing") else "two-step",
        use_python=bool(gen.get("use_python")), use_web_search=bool(gen.get("use_web_search")),
        reasoning_effort=model.get("reasoning_effort"), reasoning_tokens=model.get("reasoning_tokens"),
        epochs_planned=planned, dry_run_config=bool(evaluator.get("dry_run", True)),
        dataset_sha256=manifest.dataset_sha256, prompt_hash=manifest.prompt_hash,
        config_hash=manifest.config_hash, created_at=manifest.created_at,
        git_revision=manifest.git_revision, harness_version=manifest.packages.get("critpt-harness"),
        epochs=epochs, stats=epoch_stats(prov.accuracies), checks=checks, usage=used, price=price,
        cost=cost_of(used.prompt_tokens, used.completion_tokens, price),
        catalog=catalog, provenance=prov, dry_run_requests=dry_requests, notes=notes, local_epochs=local_epochs,
        isolation=isolation, differences=official_differences(stored, manifest.as_dict()),
        queued=manifest.queued.model_dump(exclude_unset=True) if manifest.queued else {}, score_file=score_file,
        prompts_source=(manifest.prompts.source if manifest.prompts else None)
        or ("official" if manifest.prompt_hash == "official" else None))


def _catalog(run: RunFolder, manifest: Manifest, cfg: ReportConfig, model: Dict[str, Any], name: str,
             notes: List[str]) -> Tuple[Optional[CatalogView], List[CatalogPrice]]:
    """What the catalog snapshot says about the run's model, and the prices it lists for it."""
    found = _snapshot(run, manifest, cfg)
    if found is None:
        return None, []
    if is_offline(model.get("provider") or name):
        notes.append("the built-in mock model has no catalog entry: no published comparison for it")
        return None, []
    snap, shared = found
    matches = snap.matches(name, model.get("label"), dict(model.get("catalog_ids") or {}))
    published = [s for m in matches for s in snap.published_for(m)]
    context = [c for m in matches for c in snap.context_for(m)]
    prices = [p for m in matches for p in snap.prices_for(m)]
    return CatalogView(snap.shown(snap.folder) if not shared else str(snap.folder), snap.taken_at, shared,
                       snap.attributions(), matches, published, context, snap.critpt_scores()), prices


def _price(cfg: ReportConfig, model: Dict[str, Any], names: List[str], prices: List[CatalogPrice]) -> Optional[Price]:
    """The rate the run was configured with (model.pricing), then the catalogs', then the report's own
    (report.prefer_config_prices puts the report's first)."""
    pricing = model.get("pricing") or {}
    run_price = Price(float(pricing["input_per_million"]), float(pricing["output_per_million"]),
                      "model.pricing (the run's config.yaml)") \
        if pricing.get("input_per_million") is not None and pricing.get("output_per_million") is not None else None
    preferred = config_price(cfg, names) if cfg.prefer_config_prices else None
    provider = str(model.get("provider") or "")
    # as the console's estimate says (generation/budget.py): the built-in offline model costs nothing
    free = Price(0.0, 0.0, f"the offline {provider} model (free)") if is_offline(provider) else None
    return preferred or run_price or free or choose_price(cfg, names, prices)


def dump(data: Any) -> str:
    """The gathered numbers as JSON (report.json), for scripts."""
    from dataclasses import asdict, is_dataclass

    def default(obj: Any) -> Any:
        if is_dataclass(obj):
            return asdict(obj)  # type: ignore[arg-type]  # instances only reach json.dumps
        return str(obj)

    return json.dumps(data, indent=2, default=default, ensure_ascii=False) + "\n"
