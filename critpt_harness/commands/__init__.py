"""Every command, once: its name, what it does, where its code is, and whether it works on an
existing run. The CLI, the config's check, `--help` and the README's table come from here.

Kept import-light (no Hydra, no pipeline): `--help` reads it without loading anything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Any, Callable, Dict, Tuple

Echo = Callable[[str], None]  # where a command prints what it did (print, or a test's collector)


@dataclass(frozen=True)
class Command:
    name: str
    summary: str
    handler: str  # "module:function", imported when the command runs
    stage: bool = False  # works on an existing run: without run_dir it takes the model's latest
    starts: bool = False  # starts a run folder (a default-named one is always a new folder)
    # `<command> --help`: the keys it reads (each explained by its doc in the schema), one example,
    # and the words it takes besides key=value
    reads: Tuple[str, ...] = ()
    example: str = ""
    words: str = ""
    tracked: bool = False  # a pipeline stage: with tracking=mlflow the run is logged when it ends
    reads_only: bool = False  # writes nothing into a run folder (not even harness.log or the manifest)
    positional: str = ""  # the list key that positional arguments fill (`view runs/a runs/b`)
    flags: Tuple[Tuple[str, str], ...] = ()  # (--flag, key): `--port 8000` is `view.port=8000`


_RUN_KEYS = ("model", "model.name", "model.base_url", "model.api_key_env", "generation", "generation.epochs",
             "generation.concurrency", "generation.use_python", "generation.max_cost_usd", "dataset.path",
             "dataset.limit", "prompts.path", "experiment", "run_dir")
_CHECK_KEYS = ("run_dir", "checks.execute", "checks.timeout_per_problem", "checks.show_all")

COMMANDS: Tuple[Command, ...] = (
    Command("run", "generate, assemble and submit (the whole pipeline), then a catalog snapshot and the report",
            "run:cmd_run", starts=True,
            reads=_RUN_KEYS + ("evaluator.dry_run", "evaluator.api_key_env", "evaluator.queue", "catalog.enabled"),
            example="critpt-harness run model=openai model.name=gpt-4o dataset.limit=3 generation.epochs=1"),
    Command("generate", "ask the model every problem for every epoch (resumable)", "generate:cmd_generate",
            starts=True, tracked=True,
            reads=_RUN_KEYS + ("model.temperature", "model.max_output_tokens", "model.reasoning_effort",
                               "model.stream", "model.pricing", "generation.parsing", "generation.use_web_search",
                               "generation.preflight", "generation.stop_after_fatal", "dataset.ids",
                               "prompts.source", "resume.allow_changed"),
            example="critpt-harness generate model=openai_compatible model.name=my-model "
                    "model.base_url=http://localhost:8000/v1 model.api_key_env=null generation.epochs=1"),
    Command("assemble", "check the answers and build one batch per epoch", "batches:cmd_assemble", stage=True, tracked=True,
            reads=_CHECK_KEYS + ("evaluator.messages", "evaluator.generated_code", "evaluator.max_body_mb"),
            example="critpt-harness assemble run_dir=runs/my-model/2026-01-01_12-00-00.042"),
    Command("check", "run every pre-submission check (static and in the sandbox) and show a table",
            "batches:cmd_check", stage=True, reads=_CHECK_KEYS + ("checks.sandbox.backend",),
            example="critpt-harness check run_dir=runs/my-model/2026-01-01_12-00-00.042 --all",
            words="[--all]"),
    Command("submit", "send the batches to the grader (dry run unless evaluator.dry_run=false)",
            "submission:cmd_submit", stage=True, tracked=True,
            reads=("run_dir", "evaluator.dry_run", "evaluator.url", "evaluator.api_key_env", "evaluator.epochs",
                   "evaluator.check_policy", "evaluator.daily_limit", "evaluator.ledger_path", "evaluator.force",
                   "evaluator.lock_wait", "evaluator.stream_progress"),
            example="critpt-harness submit evaluator.dry_run=false"),
    Command("catalog", "snapshot the public model catalogs into the run folder and match the run's model",
            "results:cmd_catalog", stage=True,
            reads=("run_dir", "catalog.enabled", "catalog.refresh", "catalog.cache_dir", "catalog.shared_dir",
                   "catalog.stale_on_error", "catalog.model_ids", "model.catalog_ids"),
            example="critpt-harness catalog run_dir=runs/my-model/2026-01-01_12-00-00.042"),
    Command("report", "report.md + report.html: the score, where it came from, cost, and place among published "
            "scores; several runs with report.runs=runs/*/*", "results:cmd_report", stage=True, tracked=True,
            reads=("run_dir", "report.runs", "report.output_dir", "report.formats", "report.plot",
                   "report.input_price_per_million", "report.prices", "report.prefer_config_prices",
                   "report.catalog_dir", "report.leaderboard_file", "report.print_table"),
            example="critpt-harness report report.runs='runs/*/*'"),
    Command("import-official", "make a run folder from the official pipeline's results/generations "
            "(interop.source=...)", "interop:cmd_import_official",
            reads=("interop.source", "interop.model", "interop.setup", "dataset.path", "run_dir"),
            example="critpt-harness import-official interop.source=CritPt/results/generations run_dir=runs/imported"),
    Command("export-official", "write the batches in the official layout (for evaluate_all_results.py)",
            "interop:cmd_export_official", stage=True,
            reads=("run_dir", "interop.export_dir", "evaluator.epochs", "evaluator.api_key_env"),
            example="critpt-harness export-official run_dir=runs/my-model/2026-01-01_12-00-00.042"),
    Command("serve-grader", "a local grader with the evaluate endpoint's contract (grader.problems=...): "
            "rehearse the submission path", "grading:cmd_serve_grader",
            reads=("grader.problems", "grader.host", "grader.port", "grader.api_key_env", "grader.daily_limit",
                   "grader.include_checkpoints", "grader.show_reasons", "grader.workers"),
            example="critpt-harness serve-grader grader.problems=/path/to/challenges-with-answers"),
    Command("grade-local", "grade the run's batches here against a set with golden answers",
            "grading:cmd_grade_local", stage=True, tracked=True,
            reads=("run_dir", "grader.problems", "grader.include_checkpoints", "grader.rtol",
                   "grader.problem_timeout", "grader.workers", "evaluator.epochs"),
            example="critpt-harness grade-local grader.problems=/path/to/challenges-with-answers"),
    Command("data", "`data pull` (the problem set and the official prompt files, for nodes without a network; "
            "prints the line they run with), `data list` (the versions, and what is cached and verified)",
            "data:cmd_data",
            reads=("data.dir", "data.prompts", "dataset.version", "dataset.source", "dataset.revision", "dataset.verify",
                   "dataset.cache_dir", "prompts.cache_dir"),
            example="critpt-harness data pull dataset.version=v1 data.dir=/shared/critpt", words="[pull|list]"),
    Command("check-sandbox", "run hostile probes in the sandbox model code would run in and print what held "
            "(files, /proc, network, process, memory, file and time limits)", "sandbox:cmd_check_sandbox",
            reads=("sandbox.backend", "generation.tools.sandbox.backend", "checks.sandbox.backend",
                   "grader.sandbox.backend"),
            example="critpt-harness check-sandbox sandbox.backend=landlock"),
    Command("queue", "the grading queue across quota windows: `queue add` (a run's epochs), `queue` (list, "
            "with expected times), `queue run [--wait]` (post as the quota allows)", "submission:cmd_queue",
            reads=("run_dir", "queue.wait", "queue.priority", "evaluator.url", "evaluator.api_key_env",
                   "evaluator.daily_limit", "evaluator.quota_window_hours"),
            example="critpt-harness queue run --wait", words="[add|list|run] [--wait]"),
    Command("view", "a read-only web viewer of run folders on 127.0.0.1: runs, problem x epoch grids, "
            "conversations, side by side (`view [runs...] [--port N]`)", "reading:cmd_view", reads_only=True,
            positional="view.runs", flags=(("--port", "view.port"), ("--host", "view.host")),
            reads=("view.runs", "view.host", "view.port", "view.refresh_seconds"),
            example="critpt-harness view runs/ --port 8780", words="[runs...] [--port N] [--host H]"),
    Command("table", "every run as one table: csv, parquet, json or markdown, one row per run, epoch or item "
            "(`table [runs...] --format csv --level run`)", "reading:cmd_table", reads_only=True,
            positional="table.runs", flags=(("--format", "table.format"), ("--level", "table.level"),
                                            ("--output", "table.output")),
            reads=("table.runs", "table.format", "table.level", "table.output"),
            example="critpt-harness table 'runs/*/*' --format csv --level epoch --output epochs.csv",
            words="[runs...] [--format F] [--level L] [--output FILE]"),
    Command("compare", "two runs side by side: a paired test over problems where both have per-problem "
            "outcomes, else the difference of means over epochs (`compare A B`)", "reading:cmd_compare",
            reads_only=True, positional="compare.runs", flags=(("--format", "compare.format"),),
            reads=("compare.runs", "compare.format", "compare.level"),
            example="critpt-harness compare runs/ckpt-a/2026-01-01_12-00-00.042 runs/ckpt-b/2026-01-02_09-30-00.117",
            words="A B [--format F]"),
)

NAMES: Tuple[str, ...] = tuple(c.name for c in COMMANDS)
STAGES: Tuple[str, ...] = tuple(c.name for c in COMMANDS if c.stage)
READS_ONLY: Tuple[str, ...] = tuple(c.name for c in COMMANDS if c.reads_only)
STARTS: Tuple[str, ...] = tuple(c.name for c in COMMANDS if c.starts)
_BY_NAME: Dict[str, Command] = {c.name: c for c in COMMANDS}


def command(name: str) -> Command:
    return _BY_NAME[name]


def handler(name: str) -> Callable[..., Any]:
    """The command's function, imported now (each command loads only what it needs). A tracked
    stage logs the run to the tracker (tracking=...) when it ends."""
    spec = _BY_NAME[name]
    module, _, function = spec.handler.partition(":")
    fn = getattr(import_module(f"{__package__}.{module}"), function)
    if not spec.tracked:
        return fn

    def tracked(cfg: Any, run: Any, echo: Echo = print) -> Any:
        from ..tracking import check, stage_end

        check(cfg)  # a missing tracker package is a config error before any work
        result = fn(cfg, run, echo)
        stage_end(cfg, run, name, echo)
        return result
    return tracked


def usage() -> str:
    """The commands part of `critpt-harness --help`."""
    width = max(len(n) for n in NAMES) + 2
    return "\n".join(f"  {c.name:<{width}}{c.summary}" for c in COMMANDS)
