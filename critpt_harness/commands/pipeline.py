"""The commands: generate, assemble, submit, and run (all three in order).

Each command reads what earlier stages left in the run folder, so each can be
run alone, and pointing one at an existing folder resumes it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional

from ..config import DatasetConfig, HarnessConfig, keyless, model_label
from ..errors import BatchError, ConfigError, HarnessError, RunFolderError
from ..providers import is_offline, provider
from ..runs import RunFolder, mark_latest, now_iso, read_json, write_json_atomic
from ..secrets import require_key

# Each command imports the modules it needs when it runs (start-up: the openai SDK,
# the sandbox, grading and report modules are not loaded for commands that do not use them).
if TYPE_CHECKING:
    from ..contracts import GenerationRecord
    from ..data.problems import Problem, ProblemSet

log = logging.getLogger(__name__)
Echo = Callable[[str], None]

def _shown(value: Any) -> str:
    """A config value as it is written in an override (null, true, 0.5, "text")."""
    return json.dumps(value, default=str)


def prepare_run(cfg: HarnessConfig, run: RunFolder, problems: ProblemSet) -> None:
    """Create the run folder, or check that resuming it keeps the same settings."""
    from ..generation import identity
    from ..generation import prompts

    # cfg came from OmegaConf.to_object, so it is resolved already: asdict gives the same
    # plain dict as OmegaConf.to_container(OmegaConf.structured(cfg)), ~100x faster.
    resolved = dataclasses.asdict(cfg)
    prompt_set = prompts.activate(prompts.load(cfg.prompts, mock=is_offline(cfg.model.provider)))
    changed: List[Dict[str, Any]] = []
    if run.exists():
        stored = run.stored_config()
        refused, accepted = identity.split_allowed(
            identity.differences(stored, resolved),
            # a served checkpoint gets a new port each time: the checkpoint is what identifies it
            list(cfg.resume.allow_changed) + (["model.base_url"] if cfg.model.checkpoint else []))
        diffs = [f"{k}: {_shown(old)} -> {_shown(new)}" for k, old, new in refused]
        manifest = run.manifest()
        if manifest.get("dataset_sha256") not in (None, problems.sha256):
            diffs.append("the problem set changed (dataset hash)")
        if manifest.get("prompt_hash") not in (None, prompt_set.hash):
            was_own = manifest.get("prompt_hash") == prompts.OWN.hash
            diffs.append(f"the prompt text changed (prompt hash; now {prompt_set.label})"
                         + ("; it was generated with the tool's own prompts: resume it with prompts=own" if was_own else ""))
        if diffs:
            keys = [k for k, _, _ in refused]
            allow = (f"; or, if a difference does not change the answers (a local server on another port), "
                     f"accept it knowingly with resume.allow_changed=[{','.join(keys)}]") if keys else ""
            raise RunFolderError(
                f"{run.path} was generated with other settings:\n  " + "\n  ".join(diffs)
                + "\nResuming would mix answers from different set-ups: choose a new run_dir, "
                  f"or drop the overrides that differ{allow}."
            )
        changed = list(manifest.get("accepted_changes") or [])
        for key, old, new in accepted:
            log.warning("resuming %s with %s changed (%r -> %r), accepted by resume.allow_changed",
                        run.path, key, old, new)
            changed.append({"key": key, "from": old, "to": new, "at": now_iso()})
    run.write_config(resolved)
    mark_latest(run.path)  # stage commands without run_dir pick this one
    extra = {"accepted_changes": changed} if changed else {}
    subset = {"problems": len(problems), "of": problems.full_size} if problems.subset else None
    run.update_manifest(dataset_sha256=problems.sha256, problem_ids=problems.ids, public_set=problems.public,
                        subset=subset,
                        prompt_hash=prompt_set.hash, prompts=prompt_set.manifest(),
                        config_hash=identity.config_hash(resolved), model=model_label(cfg), tags=list(cfg.tags),
                        **extra)


def check_keys(cfg: HarnessConfig, *, evaluator: bool) -> None:
    """Fail before any work when a needed API key is missing."""
    found = provider(cfg.model.provider)
    if found is not None and found.needs_key and not keyless(cfg.model):
        require_key(cfg.model.api_key_env, "model.api_key_env")
    if evaluator and not cfg.evaluator.dry_run:
        require_key(cfg.evaluator.api_key_env, "evaluator.api_key_env")


def cmd_generate(cfg: HarnessConfig, run: RunFolder, echo: Echo = print) -> None:
    from ..generation.budget import BudgetReached
    from ..generation.budget import plan as plan_budget
    from ..generation.loop import generate_async, record_statuses
    from ..data.problems import load_problems

    check_keys(cfg, evaluator=False)
    problems = load_problems(cfg.dataset)
    what = f"a SUBSET: {len(problems)} of {problems.full_size}" if problems.subset else str(len(problems))
    echo(f"problems: {what} from {problems.source} (sha256 {problems.sha256[:12]})")
    prepare_run(cfg, run, problems)
    echo(f"run folder: {run.path}")
    budget, estimate = plan_budget(cfg, run, len(problems) * cfg.generation.epochs,
                                   [p.problem_description for p in problems.problems])
    echo(estimate)
    statuses = record_statuses(run)
    progress = asyncio.run(generate_async(cfg, problems.units(), run, budget=budget, statuses=statuses))
    if progress.done or progress.failed:
        statuses = record_statuses(run)
    total = len(problems) * cfg.generation.epochs
    ok = sum(1 for (pid, e), status in statuses.items() if status == "ok" and e < cfg.generation.epochs)
    failed = sorted(f"{pid}@{e}" for (pid, e), status in statuses.items() if status == "failed")
    money = f"; cost this session ${budget.session:,.2f}, run total ${budget.spent:,.2f}" if budget.price else ""
    echo(f"generation: {ok}/{total} items done ({progress.done} now, {progress.failed} failed now); "
         f"tokens in/out this session {progress.usage.prompt_tokens}/{progress.usage.completion_tokens}{money}")
    if budget.stopped:
        raise BudgetReached(f"generation.max_cost_usd=${budget.limit:,.2f} reached (${budget.spent:,.2f} spent in "
                            f"{run.path}): {ok}/{total} items done, nothing lost. Run the same command with a higher "
                            "generation.max_cost_usd to go on.")
    if failed:
        echo(f"failed items ({len(failed)}): {', '.join(failed[:10])}{' ...' if len(failed) > 10 else ''}\n"
             f"re-run `critpt-harness generate run_dir={run.path}` to retry them.")


def _run_problems(stored: Dict[str, Any]) -> Dict[str, Problem]:
    """The run's problems, loaded with the dataset settings it was generated with."""
    from ..data.problems import load_problems

    dataset = stored.get("dataset") or {}
    known = {k: v for k, v in dataset.items() if k in DatasetConfig.__dataclass_fields__}
    return {p.problem_id: p for p in load_problems(DatasetConfig(**known)).problems}


def _epoch_checks(cfg: HarnessConfig, run: RunFolder, epoch: int, records: List[GenerationRecord],
                  problems: Dict[str, Problem], echo: Echo) -> Dict[str, Any]:
    from ..checks.sandboxed import check_records

    summary = asyncio.run(check_records(records, problems, cfg.checks))
    write_json_atomic(run.checks_file(epoch), summary)
    skipped = len(summary.get("not_executable", []))
    ran = f", {skipped} not executable" if cfg.checks.execute else ", execution checks off"
    echo(f"epoch {epoch}: pre-submission checks passed by {summary['passed_all']}/{summary['problems']}{ran}")
    for pid, bad in list(summary["failures"].items())[:8]:
        echo(f"    {pid}: {bad[0]}")
    if len(summary["failures"]) > 8:
        echo(f"    ... {len(summary['failures']) - 8} more in {run.checks_file(epoch)}")
    return summary


def _records_by_epoch(run: RunFolder) -> Dict[int, List[GenerationRecord]]:
    from ..generation.loop import ok_records

    by_epoch: Dict[int, List[GenerationRecord]] = defaultdict(list)
    for r in ok_records(run):
        by_epoch[r.epoch].append(r)
    return by_epoch


def cmd_check(cfg: HarnessConfig, run: RunFolder, echo: Echo = print) -> None:
    """Run every pre-submission check on each epoch's answers and show a table."""
    stored = run.stored_config()
    problems = _run_problems(stored)
    by_epoch = _records_by_epoch(run)
    if not by_epoch:
        raise RunFolderError(f"{run.generations_file} holds no finished answers: run `critpt-harness generate` first")
    summaries = {e: _epoch_checks(cfg, run, e, recs, problems, echo) for e, recs in sorted(by_epoch.items())}
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
    by_epoch = _records_by_epoch(run)
    # The templates are needed only to run the answers; without that, no problem set is loaded.
    problems = _run_problems(stored) if cfg.checks.execute else {}
    epochs = int(gen.get("epochs", 1))
    built: List[int] = []
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
        echo(f"epoch {epoch}: batch of {len(batch.submissions)} written to {run.batch_file(epoch)}")
        _epoch_checks(cfg, run, epoch, records, problems, echo)
    if errors:
        raise BatchError("\n".join(errors))
    return built


def cmd_submit(cfg: HarnessConfig, run: RunFolder, echo: Echo = print) -> None:
    from ..submission.results import table, update_summary
    from ..submission.submit import submit_async

    run.stored_config()  # fails clearly when run_dir is not a run folder
    try:
        outcomes = asyncio.run(submit_async(cfg.evaluator, run, show_progress=cfg.generation.progress, echo=echo))
        for epoch, outcome in outcomes.items():
            echo(f"epoch {epoch}: {outcome}")
    finally:
        data = update_summary(run)
        if data.get("epochs"):
            echo(table(data))
            echo("Please attribute results to the CritPt project (arXiv 2509.26574) when publishing them.")
    if cfg.evaluator.dry_run:
        echo(f"dry run: requests written to {run.path / 'requests'}; nothing was sent. "
             "Pass evaluator.dry_run=false to grade (uses one of your daily gradings per epoch).")


def cmd_catalog(cfg: HarnessConfig, run: RunFolder, echo: Echo = print) -> None:
    """Snapshot the public catalogs into the run folder (or runs/catalog/<date>/)."""
    from ..catalogs.snapshot import cmd_catalog as snapshot

    if not cfg.catalog.enabled:
        echo("catalog: off (catalog.enabled=false); no snapshot taken")
        return
    snapshot(cfg.catalog, run if run.exists() else None, model_name=cfg.model.name,
             model_label=cfg.model.label, model_ids=cfg.model.catalog_ids or None, echo=echo)


def cmd_report(cfg: HarnessConfig, run: RunFolder, echo: Echo = print) -> None:
    """report.md + report.html from stored files only (report.runs=[...] for several runs)."""
    from ..report.command import cmd_report as report

    report(cfg, run, echo)


def cmd_run(cfg: HarnessConfig, run: RunFolder, echo: Echo = print) -> None:
    subset = bool(cfg.dataset.ids or cfg.dataset.limit)  # a subset is never submitted: no grader key needed
    check_keys(cfg, evaluator=cfg.dataset.public and not subset)
    cmd_generate(cfg, run, echo)
    cmd_assemble(cfg, run, echo)
    manifest = run.manifest()
    if manifest.get("public_set") is False:  # only the public set can be graded officially
        echo("a private problem set: graded here, not by the official grader")
        cmd_grade_local(cfg, run, echo)
    elif manifest.get("subset"):
        s = manifest["subset"]
        echo(f"a subset ({s['problems']} of {s['of']} problems): stopping after the checks, nothing is submitted. "
             "The official grader grades only the full public set; for a CritPt score run all of it in a new "
             "run_dir (drop dataset.ids / dataset.limit).")
    elif cfg.evaluator.queue:  # the queue posts it, across quota windows
        from ..submission.queue import add as queue_add

        queue_add(cfg, run, echo)
    else:
        cmd_submit(cfg, run, echo)
    if not cfg.catalog.enabled:
        echo("catalog: skipped (catalog.enabled=false)")
    elif is_offline(cfg.model.provider):  # keep the offline default offline: nothing to compare with
        echo("catalog: skipped for the offline mock model (`critpt-harness catalog` takes a snapshot)")
    else:
        try:
            cmd_catalog(cfg, run, echo)
        except HarnessError as exc:  # the scores are in; a catalog problem must not fail the run
            echo(f"warning: catalog snapshot failed: {exc}")
    from ..report.command import report_stage  # a failed report is a warning, never a failed run

    report_stage(cfg, run, echo)


def cmd_import_official(cfg: HarnessConfig, run: RunFolder, echo: Echo = print) -> None:
    """Make a run folder from the official pipeline's generations."""
    from ..batches.interop import import_official
    from ..data.problems import load_problems

    if not cfg.interop.source:
        raise ConfigError("import-official needs interop.source=<the official results/generations folder>")
    problem_set = load_problems(cfg.dataset)
    problems = {p.problem_id: p for p in problem_set.problems}
    counts = import_official(cfg, run, Path(cfg.interop.source).expanduser(), problems, problem_set.sha256)
    for epoch, n in sorted(counts.items()):
        echo(f"epoch {epoch}: {n} answers imported")
    echo(f"run folder: {run.path}; next: `critpt-harness assemble run_dir={run.path}`")


def cmd_export_official(cfg: HarnessConfig, run: RunFolder, echo: Echo = print) -> None:
    """Write the run's batches in the official layout, one tree per epoch."""
    from ..batches.interop import export_official
    from ..submission.submit import assembled_epochs

    run.stored_config()
    epochs = list(cfg.evaluator.epochs) or assembled_epochs(run)
    if not epochs:
        raise RunFolderError(f"no batches in {run.batches_dir}: run `critpt-harness assemble run_dir={run.path}`")
    out = Path(cfg.interop.export_dir).expanduser() if cfg.interop.export_dir else None
    key = cfg.evaluator.api_key_env
    for epoch, root in export_official(run, epochs, out).items():
        # one results and one output folder per epoch, so the reports do not overwrite each other
        echo(f"epoch {epoch}: {root}\n  python evaluate_all_results.py --results-dir {root} "
             f"--output-dir {root.parent / f'evaluations_epoch_{epoch}'} --api-key \"${key}\"")


def cmd_grade_local(cfg: HarnessConfig, run: RunFolder, echo: Echo = print) -> None:
    """Grade the run's batches here, against a problem set with golden answers."""
    from ..grading.local import grade_batch, load_golden_set
    from ..provenance import decide
    from ..submission.results import batch_problems, summarize
    from ..submission.submit import assembled_epochs

    stored = run.stored_config()
    source = cfg.grader.problems or (stored.get("dataset") or {}).get("path")
    if not source:
        raise ConfigError("grade-local needs grader.problems=<folder or file of challenges with golden answers>")
    golden = load_golden_set(source, cfg.grader.rtol, cfg.grader.atol)
    epochs = list(cfg.evaluator.epochs) or assembled_epochs(run)
    if not epochs:
        raise RunFolderError(f"no batches in {run.batches_dir}: run `critpt-harness assemble run_dir={run.path}`")
    graded: Dict[str, Any] = {}
    for epoch in epochs:
        batch = read_json(run.batch_file(epoch))
        report = asyncio.run(grade_batch(batch, golden, cfg.grader))
        graded[str(epoch)] = {**report.result(), "main_accuracy": report.main_accuracy,
                              "checkpoint_accuracy": report.checkpoint_accuracy, "challenges": report.challenges(),
                              "content_hash": _content_hash(batch)}
        echo(f"epoch {epoch}:\n{report.table()}")
    data: Dict[str, Any] = {"graded_at": now_iso(), "golden_set": str(source), "local_grader": True, "epochs": graded}
    prov = decide(stored, run.manifest(), None, data, batch_problems(run))
    data["summary"] = {**summarize(prov.accuracies), "epochs_graded": prov.epochs, "distinct_gradings": prov.distinct}
    data["provenance"] = prov.as_dict()
    write_json_atomic(run.path / "local_grades.json", data)
    s = data["summary"]
    se = f" ± {100 * s['stderr']:.2f}" if s["stderr"] is not None else ""
    echo(f"{prov.label} (NOT the official grader): mean accuracy {100 * s['mean_accuracy']:.2f}%{se}"
         + (f" over {prov.distinct} distinct grading(s) of {prov.epochs} epochs" if prov.reused
            else f" over {prov.epochs} epoch(s)") + f"; written to {run.path / 'local_grades.json'}")


def _content_hash(batch: Dict[str, Any]) -> Optional[str]:
    """The batch's content identity (as the submitter's ledger uses), so identical epochs count once."""
    from ..batches.batch import Batch, submissions_hash

    try:
        return submissions_hash(Batch.model_validate(batch))
    except ValueError:  # pydantic's ValidationError; a batch grade_batch accepted but our model does not
        return None


def cmd_serve_grader(cfg: HarnessConfig, run: RunFolder, echo: Echo = print) -> None:
    """A local grader with the evaluate endpoint's contract, grading with golden answers."""
    from ..grading.server import serve_grader

    serve_grader(cfg.grader, echo=echo)


def cmd_queue(cfg: HarnessConfig, run: RunFolder, echo: Echo = print) -> None:
    """`critpt-harness queue add|list|run`: gradings that span quota windows."""
    from ..submission import queue as grading_queue

    if cfg.queue.action == "add":
        if not run.exists():
            raise RunFolderError(f"queue add: {run.path} is not a run folder; name one: "
                                 "`critpt-harness queue add run_dir=runs/<model>/<time>`")
        grading_queue.add(cfg, run, echo)
    elif cfg.queue.action == "run":
        check_keys(cfg, evaluator=True)
        grading_queue.run_queue(cfg, echo)
    else:
        grading_queue.show(cfg, echo)

