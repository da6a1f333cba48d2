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


COMMANDS: Tuple[Command, ...] = (
    Command("run", "generate, assemble and submit (the whole pipeline), then a catalog snapshot and the report",
            "run:cmd_run", starts=True),
    Command("generate", "ask the model every problem for every epoch (resumable)", "generate:cmd_generate", starts=True),
    Command("assemble", "check the answers and build one batch per epoch", "batches:cmd_assemble", stage=True),
    Command("check", "run every pre-submission check (static and in the sandbox) and show a table",
            "batches:cmd_check", stage=True),
    Command("submit", "send the batches to the grader (dry run unless evaluator.dry_run=false)",
            "submission:cmd_submit", stage=True),
    Command("catalog", "snapshot the public model catalogs into the run folder and match the run's model",
            "results:cmd_catalog", stage=True),
    Command("report", "report.md + report.html: the score, where it came from, cost, and place among published "
            "scores; several runs with report.runs=runs/*/*", "results:cmd_report", stage=True),
    Command("import-official", "make a run folder from the official pipeline's results/generations "
            "(interop.source=...)", "interop:cmd_import_official"),
    Command("export-official", "write the batches in the official layout (for evaluate_all_results.py)",
            "interop:cmd_export_official", stage=True),
    Command("serve-grader", "a local grader with the evaluate endpoint's contract (grader.problems=...): "
            "rehearse the submission path", "grading:cmd_serve_grader"),
    Command("grade-local", "grade the run's batches here against a set with golden answers",
            "grading:cmd_grade_local", stage=True),
    Command("queue", "the grading queue across quota windows: `queue add` (a run's epochs), `queue` (list, "
            "with expected times), `queue run [--wait]` (post as the quota allows)", "submission:cmd_queue"),
)

NAMES: Tuple[str, ...] = tuple(c.name for c in COMMANDS)
STAGES: Tuple[str, ...] = tuple(c.name for c in COMMANDS if c.stage)
STARTS: Tuple[str, ...] = tuple(c.name for c in COMMANDS if c.starts)
_BY_NAME: Dict[str, Command] = {c.name: c for c in COMMANDS}


def handler(name: str) -> Callable[..., Any]:
    """The command's function, imported now (each command loads only what it needs)."""
    module, _, function = _BY_NAME[name].handler.partition(":")
    return getattr(import_module(f"{__package__}.{module}"), function)


def usage() -> str:
    """The commands part of `critpt-harness --help`."""
    width = max(len(n) for n in NAMES) + 2
    return "\n".join(f"  {c.name:<{width}}{c.summary}" for c in COMMANDS)
