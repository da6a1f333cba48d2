"""Problems x epochs under a concurrency limit; each finished item is appended
to ``generations.jsonl`` at once, and a re-run skips what is done.

An item that still fails after the retry policy gives up is recorded as
failed (and retried by the next run); it never aborts the whole run.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Tuple

from tqdm import tqdm

from . import prompts
from .config import GenerationConfig, HarnessConfig
from .contracts import GenerationRecord, TurnTiming, Usage
from .extract import static_checks
from .http import status_of
from .llm import ChatModel, build_model
from .problems import Problem
from .runs import JsonlAppender, RunFolder, now_iso, read_jsonl
from .tools import ToolBudget, execute, tool_specs
from .secrets import redact

log = logging.getLogger(__name__)

Key = Tuple[str, int]


def latest_records(run: RunFolder) -> Dict[Key, GenerationRecord]:
    """The newest record per (problem, epoch), an ok one winning over failures."""
    latest: Dict[Key, GenerationRecord] = {}
    for raw in read_jsonl(run.generations_file):
        try:
            rec = GenerationRecord.model_validate(raw)
        except ValueError:
            log.warning("%s: a record does not match the schema; skipped", run.generations_file)
            continue
        old = latest.get(rec.key)
        if old is None or old.status != "ok" or rec.status == "ok":
            latest[rec.key] = rec
    return latest


def ok_records(run: RunFolder) -> List[GenerationRecord]:
    """Every ok record (duplicates included: the batch stage reports them)."""
    out = []
    for raw in read_jsonl(run.generations_file):
        if raw.get("status") == "ok":
            try:
                out.append(GenerationRecord.model_validate(raw))
            except ValueError:
                log.warning("%s: a record does not match the schema; skipped", run.generations_file)
    return out


@dataclass
class Progress:
    total: int
    done: int = 0
    failed: int = 0
    in_flight: int = 0
    retries: int = 0
    usage: Usage = field(default_factory=Usage)
    bar: Optional[tqdm] = None

    def refresh(self) -> None:
        # The bar redraws itself at most every `mininterval` seconds on update().
        if self.bar is not None:
            self.bar.set_postfix_str(
                f"failed={self.failed} in-flight={self.in_flight} retries={self.retries} "
                f"tokens={self.usage.prompt_tokens}/{self.usage.completion_tokens}",
                refresh=False,
            )


def _error_text(exc: BaseException) -> str:
    status = status_of(exc)
    prefix = f"HTTP {status}: " if status else ""
    return redact(f"{type(exc).__name__}: {prefix}{exc}")[:2000]


async def _turn(model: ChatModel, messages: List[Dict[str, Any]], turn: int, gen: GenerationConfig,
                budget: ToolBudget, rec: Dict[str, Any]) -> str:
    """One protocol turn: call the model, run its tool calls, repeat until it answers.
    Appends to ``messages`` and the record parts in ``rec``; returns the final text."""
    tools = tool_specs(gen.use_python)
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
                raise ValueError(f"empty reply in turn {turn} (finish_reason={result.finish_reason})")
            return result.content
        for call in result.tool_calls:
            output, entry = await execute(call, budget, turn)
            rec["tool_calls"].append(entry)
            messages.append({"role": "tool", "tool_call_id": call.id, "content": output})


async def run_item(model: ChatModel, problem: Problem, epoch: int, gen: GenerationConfig) -> GenerationRecord:
    """One (problem, epoch) conversation: one turn (parsing) or two (answer, then format),
    each with a tool loop under the "code" protocol."""
    messages = prompts.initial_messages(problem.problem_description, problem.code_template, gen.parsing,
                                        gen.use_python, gen.use_web_search)
    replies: List[str] = []
    rec: Dict[str, Any] = {"reasoning": [], "turns": [], "usage": Usage(), "tool_calls": [], "web_searches": 0}
    budget = ToolBudget(gen.tools)
    started, t0 = now_iso(), time.perf_counter()
    error: Optional[str] = None
    try:
        for turn in range(1, 2 if gen.parsing else 3):
            if turn == 2:
                messages.append({"role": "user", "content": prompts.parse_turn(problem.code_template)})
            replies.append(await _turn(model, messages, turn, gen, budget, rec))
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # recorded, never fatal for the run
        error = _error_text(exc)
    code, checks = (None, [])
    if error is None:
        code, checks = static_checks(replies[-1], problem.code_template)
    return GenerationRecord(
        problem_id=problem.problem_id, epoch=epoch, status="ok" if error is None else "failed",
        model=model.name, parsing=gen.parsing, messages=messages, replies=replies, extracted_code=code,
        checks=checks, started_at=started, finished_at=now_iso(), duration_s=round(time.perf_counter() - t0, 4),
        error=error, prompt_hash=prompts.prompt_hash(), **rec,
    )


def pending_items(problems: Iterable[Problem], epochs: int, done: Iterable[Key]) -> List[Tuple[Problem, int]]:
    finished = set(done)
    return [(p, e) for e in range(epochs) for p in problems if (p.problem_id, e) not in finished]


async def generate_async(cfg: HarnessConfig, problems: List[Problem], run: RunFolder,
                         model: Optional[ChatModel] = None) -> Progress:
    done = [k for k, r in latest_records(run).items() if r.status == "ok"]
    todo = pending_items(problems, cfg.generation.epochs, done)
    progress = Progress(total=len(todo))
    if not todo:
        log.info("generation: all %d items already done", len(problems) * cfg.generation.epochs)
        return progress

    def on_retry(attempt: int, exc: BaseException, wait: float) -> None:
        progress.retries += 1
        log.info("retrying after %s (attempt %d, waiting %.1fs)", _error_text(exc)[:200], attempt, wait)
        progress.refresh()

    model = model or build_model(cfg.model, cfg.generation, on_retry=on_retry)
    # disable=None: a bar on a terminal, nothing in CI logs or pipes.
    progress.bar = tqdm(total=len(todo), desc="generate", unit="item", mininterval=0.5, dynamic_ncols=True,
                        disable=None if cfg.generation.progress else True)
    semaphore = asyncio.Semaphore(cfg.generation.concurrency)
    writer = JsonlAppender(run.generations_file)

    async def worker(problem: Problem, epoch: int) -> None:
        async with semaphore:
            progress.in_flight += 1
            progress.refresh()
            try:
                record = await run_item(model, problem, epoch, cfg.generation)
            finally:
                progress.in_flight -= 1
        writer.write_model(record)
        progress.usage = progress.usage + record.usage
        if record.status == "ok":
            progress.done += 1
        else:
            progress.failed += 1
            log.warning("%s epoch %d failed: %s", record.problem_id, epoch, record.error)
        progress.refresh()
        progress.bar.update(1)

    try:
        await asyncio.gather(*(worker(p, e) for p, e in todo))
    finally:
        writer.close()
        progress.bar.close()
        await model.aclose()
    return progress
