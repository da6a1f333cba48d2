"""A grading queue that spans quota windows: `critpt-harness queue add|list|run`.

Entries live in an append-only file next to the ledger (one queue per ledger; each entry names its
grader URL), written under a file lock, so several processes and a shared filesystem are safe. An
entry is done when the ledger holds a grading of its content for its URL: nothing else is stored, so
a killed `queue run` resumes without re-posting anything graded. Order: higher `queue.priority`
first; then epochs are spread across runs (every run's first epoch before any run's second), then
first in, first out. Posting goes through `submit` (ledger, one batch at a time, 429/5xx handling).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Dict, List, Optional

from filelock import FileLock

from ..config import EvaluatorConfig, HarnessConfig
from ..errors import QuotaExhausted, RunFolderError
from ..runfiles import JsonlAppender, read_jsonl
from ..runs import RunFolder, now_iso
from .ledger import Ledger, ledger_path
from .submit import assembled_epochs, load_batch, submit_async

Echo = Callable[[str], None]


@dataclass(frozen=True)
class Entry:
    run_dir: str
    epoch: int
    content_hash: str
    url: str
    priority: int
    added_at: str


def queue_path(cfg: EvaluatorConfig) -> Path:
    ledger = ledger_path(cfg)
    return ledger.with_name(ledger.stem + ".queue.jsonl")


def entries(path: Path) -> List[Entry]:
    out, seen = [], set()
    for raw in read_jsonl(path):
        try:
            e = Entry(str(raw["run_dir"]), int(raw["epoch"]), str(raw["content_hash"]), str(raw["url"]),
                      int(raw.get("priority") or 0), str(raw.get("added_at") or ""))
        except (KeyError, TypeError, ValueError):
            continue
        if (e.content_hash, e.url) not in seen:  # the same content is graded once
            seen.add((e.content_hash, e.url))
            out.append(e)
    return out


def pending(cfg: EvaluatorConfig) -> List[Entry]:
    """What still waits, in the order it will be posted."""
    ledger = Ledger(ledger_path(cfg))
    graded = {(e.content_hash, e.url) for e in ledger.entries(cfg.url) if e.graded}
    waiting = [e for e in entries(queue_path(cfg)) if e.url == cfg.url and (e.content_hash, e.url) not in graded]
    first_seen: Dict[str, str] = {}
    rank: Dict[Entry, int] = {}
    per_run: Dict[str, int] = {}
    for e in sorted(waiting, key=lambda e: e.added_at):
        first_seen.setdefault(e.run_dir, e.added_at)
        rank[e] = per_run.get(e.run_dir, 0)  # this run's 0th, 1st, ... waiting epoch
        per_run[e.run_dir] = rank[e] + 1
    return sorted(waiting, key=lambda e: (-e.priority, rank[e], first_seen[e.run_dir], e.epoch))


def expected_times(cfg: EvaluatorConfig, count: int, now: Optional[datetime] = None) -> List[datetime]:
    """When each of the next ``count`` gradings can go, from the ledger's window and the daily limit."""
    now = now or datetime.now(timezone.utc)
    window = timedelta(hours=cfg.quota_window_hours)
    used = sorted(e.graded_at for e in Ledger(ledger_path(cfg)).used_since(now - window, cfg.url))
    slots = [now] * max(0, cfg.daily_limit - len(used)) + [t + window for t in used]
    out: List[datetime] = []
    while len(out) < count:
        take = slots[: count - len(out)]
        out += [max(t, now) for t in take]
        slots = [t + window for t in slots]  # the next window's slots
    return out[:count]


def add(cfg: HarnessConfig, run: RunFolder, echo: Echo = print) -> List[Entry]:
    """Queue the run's assembled epochs that are not graded yet (or queued already)."""
    ev = cfg.evaluator
    epochs = list(ev.epochs) or assembled_epochs(run)
    if not epochs:
        raise RunFolderError(f"no batches in {run.batches_dir}: run `critpt-harness assemble run_dir={run.path}`")
    manifest = run.manifest()
    if manifest.get("subset") or manifest.get("public_set") is False:
        raise RunFolderError(f"{run.path} is a subset or a private set: it is never posted to the grader, so it "
                             "cannot be queued (grade a private set with `critpt-harness grade-local`)")
    path = queue_path(ev)
    path.parent.mkdir(parents=True, exist_ok=True)
    ledger = Ledger(ledger_path(ev))
    added: List[Entry] = []
    with FileLock(str(path) + ".lock", timeout=60):
        known = {(e.content_hash, e.url) for e in entries(path)}
        with JsonlAppender(path) as out:
            for epoch in epochs:
                _, _, digest = load_batch(run, epoch)  # the submitter's checks: a bad batch is never queued
                if (digest, ev.url) in known or ledger.find(digest, ev.url):
                    echo(f"epoch {epoch}: already queued or graded")
                    continue
                entry = Entry(str(run.path.resolve()), epoch, digest, ev.url, cfg.queue.priority, now_iso())
                out.write(entry.__dict__)
                known.add((digest, ev.url))
                added.append(entry)
    when = expected_times(ev, len(pending(ev)))
    run.update_manifest(queued={"epochs": [e.epoch for e in added] + list((run.manifest().get("queued") or {})
                                                                           .get("epochs") or []),
                                "queue": str(path), "expected_last": when[-1].isoformat() if when else None})
    echo(f"queued {len(added)} epoch(s) of {run.path} for {ev.url}; `critpt-harness queue` lists the queue, "
         "`critpt-harness queue run --wait` grades it as the quota allows")
    return added


def show(cfg: HarnessConfig, echo: Echo = print) -> List[Entry]:
    ev = cfg.evaluator
    waiting = pending(ev)
    if not waiting:
        echo(f"the grading queue for {ev.url} is empty ({queue_path(ev)})")
        return waiting
    echo(f"{len(waiting)} epoch(s) wait for {ev.url} (evaluator.daily_limit={ev.daily_limit} per "
         f"{ev.quota_window_hours:g} h):")
    for e, when in zip(waiting, expected_times(ev, len(waiting))):
        slot = "now" if when <= datetime.now(timezone.utc) + timedelta(seconds=1) else f"{when:%Y-%m-%d %H:%M:%S} UTC"
        echo(f"  {e.run_dir} epoch {e.epoch}  priority {e.priority}  expected {slot}")
    return waiting


def run_queue(cfg: HarnessConfig, echo: Echo = print, sleep: Callable[[float], None] = time.sleep) -> int:
    """Post what the quota allows now; with queue.wait, sleep until the next slot and go on until the
    queue is empty. Returns the number of gradings made."""
    ev = cfg.evaluator
    done = 0
    while True:
        waiting = pending(ev)
        if not waiting:
            echo(f"the grading queue is empty: {done} graded by this run")
            return done
        entry = waiting[0]
        one = replace(ev, epochs=[entry.epoch], dry_run=False)
        try:
            outcome = asyncio.run(submit_async(one, RunFolder(entry.run_dir), show_progress=False, echo=echo))
            echo(f"{entry.run_dir} epoch {entry.epoch}: {outcome.get(entry.epoch)}")
            from .results import update_summary

            update_summary(RunFolder(entry.run_dir))
            done += 1
        except QuotaExhausted as exc:
            until = exc.until or expected_times(ev, 1)[0]
            if not cfg.queue.wait:
                echo(f"quota used up: {len(waiting)} epoch(s) wait; the next slot frees at {until:%Y-%m-%d %H:%M:%S} "
                     "UTC. Run `critpt-harness queue run --wait` to go on by itself.")
                return done
            seconds = max(1.0, (until - datetime.now(timezone.utc)).total_seconds() + 1.0)
            echo(f"quota used up: waiting {seconds:.0f} s, until {until:%Y-%m-%d %H:%M:%S} UTC "
                 f"({len(waiting)} epoch(s) wait)")
            sleep(seconds)
