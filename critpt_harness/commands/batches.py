"""`check` and `assemble`: every answer's checks, then one batch per epoch."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import TYPE_CHECKING, Any, Dict, List

from ..config import DatasetConfig, HarnessConfig
from ..contracts import problem_order
from ..errors import BatchError, RunFolderError
from ..runfiles import write_json_atomic
from ..runs import RunFolder, now_iso
from . import Echo
from .sandbox import announce

# Each command imports the modules it needs when it runs (start-up: the openai SDK,
# the sandbox, grading and report modules are not loaded for commands that do not use them).
if TYPE_CHECKING:
    from ..contracts import GenerationRecord
    from ..data.problems import Problem


def _run_problems(stored: Dict[str, Any]) -> Dict[str, Problem]:
    """The run's problems, loaded with the dataset settings it was generated with."""
    from ..data.sets import load_problems

    dataset = stored.get("dataset") or {}
    known = {k: v for k, v in dataset.items() if k in DatasetConfig.__dataclass_fields__}
    return {p.problem_id: p for p in load_problems(DatasetConfig(**known)).problems}


def _checks(cfg: HarnessConfig, run: RunFolder, by_epoch: Dict[int, List[GenerationRecord]],
            problems: Dict[str, Problem]) -> Dict[int, Dict[str, Any]]:
    """Every epoch's checks (the execution checks of all of them in one sandbox), each written to
    its epoch's checks file."""
    from ..checks.sandboxed import check_epochs

    summaries = asyncio.run(check_epochs(by_epoch, problems, cfg.checks))
    for epoch, summary in summaries.items():
        write_json_atomic(run.checks_file(epoch), summary)
    return summaries


def _say_checks(cfg: HarnessConfig, run: RunFolder, epoch: int, summary: Dict[str, Any], echo: Echo) -> None:
    skipped = len(summary.get("not_executable", []))
    ran = f", {skipped} not executable" if cfg.checks.execute else ", execution checks off"
    if summary.get("execution_skipped"):  # no sandbox isolates here: said in full once, by announce
        ran = ", execution checks skipped (no sandbox that isolates runs here: see `critpt-harness check-sandbox`)"
    echo(f"epoch {epoch}: pre-submission checks passed by {summary['passed_all']}/{summary['problems']}{ran}")
    # by problem (Challenge_2 before Challenge_10), not in the order the checks finished
    failures = sorted(summary["failures"].items(), key=lambda item: problem_order(item[0]))
    shown = failures if cfg.checks.show_all else failures[:SHOWN_FAILURES]
    for pid, bad in shown:
        echo(f"    {pid}: {bad[0]}")
    if len(failures) > len(shown):
        echo(f"    ... {len(failures) - len(shown)} more: `critpt-harness check run_dir={run.path} --all` lists "
             f"every one (all are in {run.checks_file(epoch)})")


SHOWN_FAILURES = 8  # failing problems listed per epoch unless checks.show_all (`check --all`)


def _records_by_epoch(run: RunFolder, messages: bool) -> Dict[int, List[GenerationRecord]]:
    from ..generation.records import answers

    by_epoch: Dict[int, List[GenerationRecord]] = defaultdict(list)
    for r in answers(run, messages=messages):
        by_epoch[r.epoch].append(r)
    return by_epoch


def cmd_check(cfg: HarnessConfig, run: RunFolder, echo: Echo = print) -> None:
    """Run every pre-submission check on each epoch's answers and show a table."""
    stored = run.stored_config()
    problems = _run_problems(stored)
    by_epoch = _records_by_epoch(run, messages=False)
    if not by_epoch:
        raise RunFolderError(f"{run.generations_file} holds no finished answers: run `critpt-harness generate` first")
    announce(cfg, echo, tools=False, run=run)
    summaries = _checks(cfg, run, dict(sorted(by_epoch.items())), problems)
    for epoch, summary in summaries.items():
        _say_checks(cfg, run, epoch, summary, echo)
    echo(check_table(summaries, list(problems)))


def check_table(summaries: Dict[int, Dict[str, Any]], ids: List[str]) -> str:
    """Problems x epochs: ok, FAIL, ok* (static checks only: not executable) or - (no answer)."""
    epochs = sorted(summaries)

    def cell(s: Dict[str, Any], pid: str) -> str:
        if pid not in s["answered"]:
            return "-"
        if pid in s["failures"]:
            return "FAIL"
        return "ok*" if pid in s.get("not_executable", []) else "ok"

    lines = [f"{'problem':<20}" + "".join(f"{'epoch ' + str(e):>9}" for e in epochs)]
    lines += [f"{pid:<20}" + "".join(f"{cell(summaries[e], pid):>9}" for e in epochs) for pid in ids]
    lines.append("ok* = static checks only (answer() takes concrete inputs); - = no answer yet")
    return "\n".join(lines)


def cmd_assemble(cfg: HarnessConfig, run: RunFolder, echo: Echo = print) -> List[int]:
    """Write one batch per complete epoch; raise BatchError naming incomplete ones."""
    from .. import __version__
    from ..batches.batch import build_batch, expected_ids
    from ..contracts import GenerationFlags

    stored = run.stored_config()
    manifest = run.manifest()
    gen, model = stored.get("generation", {}), stored.get("model", {})
    label = model.get("label") or model.get("name")
    flags = GenerationFlags(parsing=bool(gen.get("parsing")), use_python=bool(gen.get("use_python")),
                            use_web_search=bool(gen.get("use_web_search")))
    by_epoch = _records_by_epoch(run, messages=cfg.evaluator.messages == "full")
    # The templates are needed only to run the answers; without that, no problem set is loaded.
    problems = _run_problems(stored) if cfg.checks.execute else {}
    announce(cfg, echo, tools=False, run=run)
    epochs = int(gen.get("epochs", 1))
    built: List[int] = []
    said: List[str] = []
    errors: List[str] = []
    empty = [e for e in range(epochs) if not by_epoch.get(e)]
    if empty:  # said once, not one "missing 70 problems" per epoch
        errors.append(f"epoch{'s' if len(empty) > 1 else ''} {', '.join(map(str, empty))}: no answers at all, so "
                      f"nothing to assemble or submit (generation failed, stopped or has not run: see the errors in "
                      f"{run.generations_file}); `critpt-harness generate run_dir={run.path}` resumes it")
    for epoch in range(epochs):
        records = by_epoch.get(epoch, [])
        if not records:
            continue
        metadata = {"model": label, "harness": "critpt-harness", "harness_version": __version__,
                    "dataset_sha256": manifest.get("dataset_sha256"), "prompt_hash": manifest.get("prompt_hash"),
                    "config_hash": manifest.get("config_hash"), "created_at": now_iso(),
                    "protocol": "one-step" if flags.parsing else "two-step"}
        try:
            batch = build_batch(records, epoch=epoch, model=label, flags=flags, metadata=metadata,
                                messages=cfg.evaluator.messages, code=cfg.evaluator.generated_code,
                                public_ids=expected_ids(manifest))
        except BatchError as exc:
            errors.append(str(exc))
            continue
        write_json_atomic(run.batch_file(epoch), batch.model_dump(mode="json", exclude_none=True))
        built.append(epoch)
        said.append(f"epoch {epoch}: batch of {len(batch.submissions)} written to {run.batch_file(epoch)}")
    summaries = _checks(cfg, run, {e: by_epoch[e] for e in built}, problems) if built else {}
    for epoch, line in zip(built, said):
        echo(line)
        _say_checks(cfg, run, epoch, summaries[epoch], echo)
    if errors:
        raise BatchError("\n".join(errors))
    return built
