"""`generate`: create or resume the run folder (refusing a changed set-up) and ask the model."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from typing import TYPE_CHECKING, Any, Dict, List

from ..config import HarnessConfig, keyless, model_label
from ..errors import RunFolderError
from ..providers import is_offline, provider
from ..runs import RunFolder, mark_latest, now_iso
from ..secrets import require_key
from . import Echo
from .sandbox import announce

# Each command imports the modules it needs when it runs (start-up: the openai SDK,
# the sandbox, grading and report modules are not loaded for commands that do not use them).
if TYPE_CHECKING:
    from ..data.problems import ProblemSet

log = logging.getLogger(__name__)


def _shown(value: Any) -> str:
    """A config value as it is written in an override (null, true, 0.5, "text")."""
    return json.dumps(value, default=str)


def prepare_run(cfg: HarnessConfig, run: RunFolder, problems: ProblemSet) -> None:
    """Create the run folder, or check that resuming it keeps the same settings."""
    from ..config import identity
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
    if run.has_records():  # a resumed run is the latest again; a new one becomes it at its first record
        mark_latest(run.path)
    extra: Dict[str, Any] = {"accepted_changes": changed} if changed else {}
    subset = {"problems": len(problems), "of": problems.full_size} if problems.subset else None
    origin = getattr(problems, "origin", None)  # which CritPt version, from where, verified or not
    if origin is not None:
        extra["dataset"] = origin.manifest(problems)
    run.update_manifest(dataset_sha256=problems.sha256, problem_ids=problems.ids, public_set=problems.public,
                        subset=subset,
                        prompt_hash=prompt_set.hash, prompts=prompt_set.manifest(),
                        config_hash=identity.config_hash(resolved), model=model_label(cfg), tags=list(cfg.tags),
                        **extra)


def _version_note(problems: ProblemSet) -> str:
    origin = problems.origin
    if origin is None or origin.version is None:
        return ""
    at = f" at {origin.revision[:12]}" if origin.revision else ""
    return f", CritPt {origin.version}{at}" + ("" if origin.verified else ", UNVERIFIED")


def check_keys(cfg: HarnessConfig, *, evaluator: bool) -> None:
    """Fail before any work when a needed API key is missing."""
    found = provider(cfg.model.provider)
    if found is not None and found.needs_key and not keyless(cfg.model):
        require_key(cfg.model.api_key_env, "model.api_key_env")
    if evaluator and not cfg.evaluator.dry_run:
        require_key(cfg.evaluator.api_key_env, "evaluator.api_key_env")


def cmd_generate(cfg: HarnessConfig, run: RunFolder, echo: Echo = print) -> None:
    from ..data.sets import load_problems
    from ..generation.budget import BudgetReached
    from ..generation.budget import plan as plan_budget
    from ..generation.records import keep_status, pending_units, record_statuses

    check_keys(cfg, evaluator=False)
    problems = load_problems(cfg.dataset)
    what = f"a SUBSET: {len(problems)} of {problems.full_size}" if problems.subset else str(len(problems))
    echo(f"problems: {what} from {problems.source} (sha256 {problems.sha256[:12]}){_version_note(problems)}")
    announce(cfg, echo, checks=False)  # tools that cannot be isolated refuse before the run folder or any call
    prepare_run(cfg, run, problems)
    announce(cfg, echo, checks=False, run=run)
    echo(f"run folder: {run.path}")
    budget, estimate = plan_budget(cfg, run, len(problems) * cfg.generation.epochs,
                                   [p.problem_description for p in problems.problems])
    echo(estimate)
    statuses = record_statuses(run)
    total = len(problems) * cfg.generation.epochs
    done_now = failed_now = prompt_tokens = completion_tokens = 0
    units = problems.units()
    if pending_units(units, cfg.generation.epochs, [k for k, status in statuses.items() if status == "ok"]):
        from ..generation.loop import generate_async  # a finished run resumes without the loop's imports

        progress = asyncio.run(generate_async(cfg, units, run, budget=budget, statuses=statuses))
        done_now, failed_now = progress.done, progress.failed
        prompt_tokens, completion_tokens = progress.usage.prompt_tokens, progress.usage.completion_tokens
        for key, status in progress.statuses.items():  # what was just written, not read back (28 MB at 3,500)
            keep_status(statuses, key, status)
    else:
        log.info("generation: all %d items already done", total)
    ok = sum(1 for (pid, e), status in statuses.items() if status == "ok" and e < cfg.generation.epochs)
    failed = sorted(f"{pid}@{e}" for (pid, e), status in statuses.items() if status == "failed")
    money = f"; cost this session ${budget.session:,.2f}, run total ${budget.spent:,.2f}" if budget.price else ""
    echo(f"generation: {ok}/{total} items done ({done_now} now, {failed_now} failed now); "
         f"tokens in/out this session {prompt_tokens}/{completion_tokens}{money}")
    if budget.stopped:
        raise BudgetReached(f"generation.max_cost_usd=${budget.limit:,.2f} reached (${budget.spent:,.2f} spent in "
                            f"{run.path}): {ok}/{total} items done, nothing lost. Run the same command with a higher "
                            "generation.max_cost_usd to go on.")
    if failed:
        echo(f"failed items ({len(failed)}): {', '.join(failed[:10])}{' ...' if len(failed) > 10 else ''}\n"
             f"re-run `critpt-harness generate run_dir={run.path}` to retry them.")
