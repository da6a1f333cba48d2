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
    tracked: bool = False  # a pipeline stage: with tracking=mlflow the run is logged when it ends
    reads_only: bool = False  # writes nothing into a run folder (not even harness.log or the manifest)
    positional: str = ""  # the list key that positional arguments fill (`view runs/a runs/b`)
    flags: Tuple[Tuple[str, str], ...] = ()  # (--flag, key): `--port 8000` is `view.port=8000`


COMMANDS: Tuple[Command, ...] = (
    Command("run", "generate, assemble and submit (the whole pipeline), then a catalog snapshot and the report",
            "run:cmd_run"),
    Command("generate", "ask the model every problem for every epoch (resumable)", "generate:cmd_generate",
            tracked=True),
    Command("assemble", "check the answers and build one batch per epoch", "batches:cmd_assemble", stage=True,
            tracked=True),
    Command("check", "run every pre-submission check (static and in the sandbox) and show a table",
            "batches:cmd_check", stage=True),
    Command("submit", "send the batches to the grader (dry run unless evaluator.dry_run=false)",
            "submission:cmd_submit", stage=True, tracked=True),
    Command("catalog", "snapshot the public model catalogs into the run folder and match the run's model",
            "results:cmd_catalog", stage=True),
    Command("report", "report.md + report.html: the score, where it came from, cost, and place among published "
            "scores; several runs with report.runs=runs/*/*", "results:cmd_report", stage=True, tracked=True),
    Command("import-official", "make a run folder from the official pipeline's results/generations "
            "(interop.source=...)", "interop:cmd_import_official"),
    Command("export-official", "write the batches in the official layout (for evaluate_all_results.py)",
            "interop:cmd_export_official", stage=True),
    Command("serve-grader", "a local grader with the evaluate endpoint's contract (grader.problems=...): "
            "rehearse the submission path", "grading:cmd_serve_grader"),
    Command("grade-local", "grade the run's batches here against a set with golden answers",
            "grading:cmd_grade_local", stage=True, tracked=True),
    Command("queue", "the grading queue across quota windows: `queue add` (a run's epochs), `queue` (list, "
            "with expected times), `queue run [--wait]` (post as the quota allows)", "submission:cmd_queue"),
    Command("view", "a read-only web viewer of run folders on 127.0.0.1: runs, problem x epoch grids, "
            "conversations, side by side (`view [runs...] [--port N]`)", "reading:cmd_view", reads_only=True,
            positional="view.runs", flags=(("--port", "view.port"), ("--host", "view.host"))),
    Command("table", "every run as one table: csv, parquet, json or markdown, one row per run, epoch or item "
            "(`table [runs...] --format csv --level run`)", "reading:cmd_table", reads_only=True,
            positional="table.runs", flags=(("--format", "table.format"), ("--level", "table.level"),
                                            ("--output", "table.output"))),
    Command("compare", "two runs side by side: a paired test over problems where both have per-problem "
            "outcomes, else the difference of means over epochs (`compare A B`)", "reading:cmd_compare",
            reads_only=True, positional="compare.runs", flags=(("--format", "compare.format"),)),
)

NAMES: Tuple[str, ...] = tuple(c.name for c in COMMANDS)
STAGES: Tuple[str, ...] = tuple(c.name for c in COMMANDS if c.stage)
READS_ONLY: Tuple[str, ...] = tuple(c.name for c in COMMANDS if c.reads_only)
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
