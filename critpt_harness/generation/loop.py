"""Problems x epochs under a concurrency limit; each finished item is appended
to ``generations.jsonl`` at once, and a re-run skips what is done.

An item that still fails after the retry policy gives up is recorded as
failed (and retried by the next run); it never aborts the whole run.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from typing import Any, Dict, List, Optional

from tqdm import tqdm

from . import prompts
from .budget import Budget
from ..config import GenerationConfig, HarnessConfig
from ..contracts import GenerationRecord, TurnTiming, Usage
from ..checks.extract import static_checks
from ..errors import ModelUnusable
from ..failures import fatal_reason, status_of
from .models.base import ChatModel
from .models.openai_base import preflight, unusable_advice
from .models.registry import build_model
from ..data.problems import Problem
from ..runfiles import JsonlAppender
from ..runs import RunFolder, mark_latest, now_iso
from ..tools.sandbox import choose_async
from ..tools.calls import ToolBudget, execute, key_env_names, set_key_names, tool_specs
from ..secrets import redact
from .progress import Progress
from .records import Key, keep_status, pending_units, record_statuses

log = logging.getLogger(__name__)
# Progress lines for logs without a terminal; the CLI shows this logger's INFO on stderr.
progress_log = logging.getLogger("critpt_harness.progress")


def _error_text(exc: BaseException) -> str:
    status = status_of(exc)
    prefix = f"HTTP {status}: " if status else ""
    return redact(f"{type(exc).__name__}: {prefix}{exc}")[:2000]


async def _turn(model: ChatModel, messages: List[Dict[str, Any]], turn: int, gen: GenerationConfig,
                budget: ToolBudget, rec: Dict[str, Any], allow_empty: bool = False) -> str:
    """One protocol turn: call the model, run its tool calls, repeat until it answers.
    Appends to ``messages`` and the record parts in ``rec``; returns the final text.
    ``allow_empty``: an empty answer is kept (the official pipeline goes on to the parse turn)."""
    tools = tool_specs(gen.use_python, gen.tools.bash)
    overruns = 0
    while True:
        choice = "none" if tools and budget.exhausted() else "auto"
        if choice == "none":
            overruns += 1
            if overruns > 3:  # the model ignores tool_choice=none: stop rather than loop
                raise ValueError(f"the model kept calling tools after {budget.why()}")
        result = await model.chat(messages, tools=tools, tool_choice=choice, web_search=gen.use_web_search)
        messages.append(result.message())
        rec["reasoning"].append(result.reasoning)
        rec["turns"].append(TurnTiming(turn=turn, latency_s=round(result.latency_s, 4), attempts=result.attempts,
                                       tool_calls=len(result.tool_calls), finish_reason=result.finish_reason))
        rec["usage"] = rec["usage"] + result.usage
        rec["web_searches"] += result.web_searches
        if not result.tool_calls:
            if not result.content.strip():
                if not allow_empty:
                    raise ValueError(f"empty reply in turn {turn} (finish_reason={result.finish_reason})")
                rec["notes"].append(f"empty reply in turn {turn} (finish_reason={result.finish_reason}); "
                                    "went on to the formatting turn, as the official pipeline does")
            return result.content
        for call in result.tool_calls:
            output, entry = await execute(call, budget, turn)
            rec["tool_calls"].append(entry)
            messages.append({"role": "tool", "tool_call_id": call.id, "content": output})


async def _step(model: ChatModel, conversation: List[Dict[str, Any]], problem: Problem, epoch: int,
                gen: GenerationConfig, carry: List[Dict[str, Any]]) -> GenerationRecord:
    """Answer one problem whose question is the last message of ``conversation``:
    the answer turn (with its tool loop) is appended to ``carry`` (what later steps
    see), the formatting turn only to this problem's own record."""
    rec: Dict[str, Any] = {"reasoning": [], "turns": [], "usage": Usage(), "tool_calls": [], "web_searches": 0,
                           "notes": []}
    budget = ToolBudget(gen.tools)
    replies: List[str] = []
    started, t0 = now_iso(), time.perf_counter()
    messages = conversation
    error: Optional[str] = None
    fatal: Optional[str] = None
    try:
        # Two-step: an empty answer still gets its formatting turn (graded as the official pipeline does).
        replies.append(await _turn(model, messages, 1, gen, budget, rec, allow_empty=not gen.parsing))
        carry[:] = list(messages)
        if not gen.parsing:
            messages = messages + [{"role": "user", "content": prompts.parse_turn(problem.code_template)}]
            replies.append(await _turn(model, messages, 2, gen, budget, rec))
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # recorded; only a run of hopeless ones stops generation
        error = _error_text(exc)
        fatal = fatal_reason(exc)
        partial = getattr(exc, "partial", "")  # a call that ran out of time keeps what it received
        if partial:
            replies.append(partial)
    code: Optional[str] = None
    checks: List[Any] = []
    if error is None:
        code, checks = static_checks(replies[-1], problem.code_template)
    return GenerationRecord(
        problem_id=problem.problem_id, epoch=epoch, status="ok" if error is None else "failed",
        model=model.name, parsing=gen.parsing, messages=messages, replies=replies, extracted_code=code,
        checks=checks, started_at=started, finished_at=now_iso(), duration_s=round(time.perf_counter() - t0, 4),
        error=error, fatal=fatal, prompt_hash=prompts.prompt_hash(), **rec,
    )


async def run_item(model: ChatModel, problem: Problem, epoch: int, gen: GenerationConfig) -> GenerationRecord:
    """One (problem, epoch) conversation: one turn (parsing) or two (answer, then format),
    each with a tool loop under the "code" protocol."""
    messages = prompts.initial_messages(problem.problem_description, problem.code_template, gen.parsing,
                                        gen.use_python, gen.use_web_search)
    return await _step(model, messages, problem, epoch, gen, [])


async def run_chain(model: ChatModel, chain: List[Problem], epoch: int, gen: GenerationConfig) -> List[GenerationRecord]:
    """A challenge's checkpoints as one conversation, as the official protocol asks
    them: each step's question follows the previous steps' answers (their
    formatting turns are not carried over). All-or-nothing: if a step fails, every
    step is recorded as failed, so a re-run asks the whole chain again."""
    carry: List[Dict[str, Any]] = [{"role": "system", "content": prompts.system_prompt(
        gen.parsing, gen.use_python, gen.use_web_search)}]
    records: List[GenerationRecord] = []
    for k, problem in enumerate(chain):
        question = prompts.first_turn(prompts.step_text([p.problem_description for p in chain], k),
                                      problem.code_template, gen.parsing)
        record = await _step(model, carry + [{"role": "user", "content": question}], problem, epoch, gen, carry)
        records.append(record)
        if record.status != "ok":
            break
    failed = next((r for r in records if r.status != "ok"), None)
    if failed is None:
        return records
    why = f"step {failed.problem_id} failed: {failed.error}"
    done = {r.problem_id for r in records}
    out = [r if r is failed else r.model_copy(update={"status": "failed", "error": why, "fatal": failed.fatal})
           for r in records]
    now = now_iso()
    out += [GenerationRecord(problem_id=p.problem_id, epoch=epoch, status="failed", model=model.name,
                             parsing=gen.parsing, started_at=now, finished_at=now, duration_s=0.0,
                             error=f"not reached: {why}", fatal=failed.fatal, prompt_hash=prompts.prompt_hash())
            for p in chain if p.problem_id not in done]
    return out


async def run_unit(model: ChatModel, unit: List[Problem], epoch: int, gen: GenerationConfig) -> List[GenerationRecord]:
    if len(unit) == 1 and unit[0].problem_type == "main":
        return [await run_item(model, unit[0], epoch, gen)]
    return await run_chain(model, unit, epoch, gen)


async def generate_async(cfg: HarnessConfig, problems: List[Problem] | List[List[Problem]], run: RunFolder,
                         model: Optional[ChatModel] = None, budget: Optional[Budget] = None,
                         statuses: Optional[Dict[Key, str]] = None) -> Progress:
    """Generate every pending (unit, epoch); ``problems`` is a list of problems
    (each its own conversation) or of units (see ProblemSet.units). ``statuses``:
    the run folder's ``record_statuses``, when the caller has just read them."""
    units = [u if isinstance(u, list) else [u] for u in problems]
    set_key_names(key_env_names(cfg))  # tool results never carry a configured key's value
    if cfg.generation.use_python:  # tools that cannot be isolated here stop the run now, before any call
        await choose_async(cfg.generation.tools.sandbox)
    if statuses is None:
        statuses = record_statuses(run)
    done = [k for k, status in statuses.items() if status == "ok"]
    todo = pending_units(units, cfg.generation.epochs, done)
    progress = Progress(total=sum(len(u) for u, _ in todo), budget=budget)
    if not todo:
        log.info("generation: all %d items already done", sum(len(u) for u in units) * cfg.generation.epochs)
        return progress

    def on_retry(attempt: int, exc: BaseException, wait: float) -> None:
        progress.retries += 1
        log.info("retrying after %s (attempt %d, waiting %.1fs)", _error_text(exc)[:200], attempt, wait)
        progress.refresh()

    model = model or build_model(cfg.model, cfg.generation, on_retry=on_retry)
    if hasattr(model, "on_stream"):  # count streamed text as it arrives (about 4 characters a token)
        def on_stream(chars: int) -> None:
            progress.streamed += chars
        model.on_stream = on_stream
    if cfg.generation.preflight:
        try:
            note = await preflight(model, cfg.model)
        except BaseException:
            await model.aclose()
            raise
        if note:
            log.warning("%s", note)
    # disable=None: a bar on a terminal, nothing in CI logs or pipes.
    bar = progress.bar = tqdm(total=len(todo), desc="generate", unit="item", mininterval=0.5, dynamic_ncols=True,
                        disable=None if cfg.generation.progress else True)
    # No terminal (nohup, SLURM, CI): plain lines every log_every items or log_seconds instead of a bar.
    lines = cfg.generation.progress and bar.disable
    logged = {"at": 0, "when": time.monotonic()}

    def log_line(force: bool = False) -> None:
        finished = progress.done + progress.failed
        if lines and (force or finished - logged["at"] >= cfg.generation.log_every):
            logged.update(at=finished, when=time.monotonic())
            progress_log.info("%s", progress.line())

    async def ticker() -> None:  # long reasoning calls: a line even when nothing finishes
        while True:
            await asyncio.sleep(max(0.0, logged["when"] + cfg.generation.log_seconds - time.monotonic()))
            if time.monotonic() - logged["when"] >= cfg.generation.log_seconds:
                log_line(force=True)

    async def redraw() -> None:  # on a terminal: streamed tokens move the bar's counters between items
        while True:
            await asyncio.sleep(1.0)
            progress.refresh()
            bar.refresh()

    writer = JsonlAppender(run.generations_file)
    # Hopeless failures in a row (see fatal_reason): K of them stop new items from starting.
    streak: List[str] = []
    stop = asyncio.Event()
    limit = cfg.generation.stop_after_fatal

    async def worker(unit: List[Problem], epoch: int) -> None:
        if stop.is_set() or (budget is not None and not budget.allows(progress.in_flight)):
            return
        progress.in_flight += 1
        progress.refresh()
        try:
            records = await run_unit(model, unit, epoch, cfg.generation)
        finally:
            progress.in_flight -= 1
        for record in records:
            writer.write_model(record)
            keep_status(progress.statuses, record.key, record.status)
            if not progress.done + progress.failed:  # the first record: now `latest` may point here
                mark_latest(run.path)
            progress.usage = progress.usage + record.usage
            if budget is not None:
                budget.add(record.usage)
            if record.status == "ok":
                progress.done += 1
                streak.clear()
            else:
                progress.failed += 1
                if record.fatal:
                    if not streak:  # the first of a run of them; the rest are summed up at the end
                        log.warning("%s epoch %d failed: %s", record.problem_id, epoch, record.error)
                    streak.append(record.fatal)
                else:
                    streak.clear()
                    log.warning("%s epoch %d failed: %s", record.problem_id, epoch, record.error)
        if limit and len(streak) >= limit:
            stop.set()
        progress.refresh()
        bar.update(len(records))
        log_line()

    tick = asyncio.create_task(ticker() if lines else redraw()) if cfg.generation.progress else None
    queue = iter(todo)

    async def drain() -> None:  # concurrency of these, each taking the next pending item: nothing per item waits
        for unit, epoch in queue:
            await worker(unit, epoch)

    # The cyclic collector ran every ~700 allocations, walking the requests' short-lived objects
    # (0.7 s of 17 s CPU at 3,500 items; the loop makes no cycles): fewer, larger passes meanwhile.
    threshold = gc.get_threshold()
    gc.set_threshold(max(threshold[0], 10_000), *threshold[1:])
    try:
        await asyncio.gather(*(drain() for _ in range(min(cfg.generation.concurrency, len(todo)))))
    finally:
        gc.set_threshold(*threshold)
        if tick is not None:
            tick.cancel()
            if lines:
                log_line(force=True)
        writer.close()
        bar.close()
        await model.aclose()
    if stop.is_set():
        raise ModelUnusable(
            f"generation stopped: {len(streak)} items in a row failed because {unusable_advice(cfg.model, streak[-1])}. "
            f"Nothing is lost: {progress.done} items finished in this session and every earlier one are kept in "
            f"{run.generations_file}; fix the cause and run the same command again to resume "
            "(generation.stop_after_fatal sets how many in a row stop it).")
    return progress
