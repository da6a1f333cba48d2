"""Submitting a run's batches: one batch at a time, every attempt recorded first, and
never a grading slot wasted.

- dry run (default): write and validate each request, post nothing;
- a batch whose content was graded before is not sent again (ledger), unless forced;
- 429: wait only for a short ``Retry-After``, else stop and say when the quota resets;
- 500/502/504 and connections that failed before the body was sent (refunded by
  the grader): bounded retries;
- 400/401/403/413: no retry, the server's message and what to do;
- before each POST an "in flight" entry goes to ``submissions.jsonl`` and to the
  ledger (fsynced); the answer completes it (graded) or closes it (refunded). A
  read timeout or a connection dropped after the body was sent leaves it
  "unknown": the grader may still count it, so it is not retried in the same
  submit, and it counts against evaluator.daily_limit for 24 h.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Dict, List, Sequence

import httpx
from filelock import FileLock, Timeout
from pydantic import ValidationError

from ..batches.batch import coverage, expected_ids, submissions_hash
from ..config import EvaluatorConfig
from ..contracts import Batch, GradingResult
from ..errors import BatchError, GraderError, QuotaExhausted, RunFolderError
from ..failures import HTTPStatusError, RetryAfterTooLong, parse_reset
from ..http import async_client
from ..provenance import is_official_url
from ..retry import RetryPolicy
from ..runfiles import JsonlAppender, read_json, write_json_atomic
from ..runs import RunFolder, now_iso
from ..secrets import redact, require_key
from .grader import NOT_SENT, GraderClient, GraderStreamError, GradingOutcomeUnknown, explain, set_mismatch
from .ledger import REFUNDED, UNKNOWN, Ledger, ledger_path


def load_batch(run: RunFolder, epoch: int) -> tuple[Batch, bytes, str]:
    path = run.batch_file(epoch)
    if not path.exists():
        raise RunFolderError(f"{path} does not exist: run `critpt-harness assemble run_dir={run.path}` first")
    try:
        batch = Batch.model_validate(read_json(path))
    except ValidationError as exc:
        raise BatchError(f"{path}: not a valid batch ({exc.error_count()} errors: {exc.errors()[0]['msg']})") from exc
    ids = expected_ids(run.manifest())
    cov = coverage([(s.problem_id, s.generated_code) for s in batch.submissions], ids)
    if not cov.ok:
        raise BatchError(f"{path}: refusing to post a batch that does not cover the run's problem set exactly once "
                         f"({cov.describe()}); run `critpt-harness assemble` again")
    body = json.dumps(batch.model_dump(mode="json", exclude_none=True), ensure_ascii=False).encode("utf-8")
    return batch, body, submissions_hash(batch)


def assembled_epochs(run: RunFolder) -> List[int]:
    if not run.batches_dir.exists():
        return []
    return sorted(int(p.stem.split("_")[1]) for p in run.batches_dir.glob("epoch_*.json")
                  if p.stem.split("_")[1].isdigit())


def check_failures(run: RunFolder, epoch: int) -> Dict[str, List[str]]:
    path = run.checks_file(epoch)
    return read_json(path).get("failures", {}) if path.exists() else {}


def store_result(run: RunFolder, epoch: int, content_hash: str, result: Dict[str, Any], source: str,
                 url: str) -> None:
    data = read_json(run.results_file) if run.results_file.exists() else {}
    data.setdefault("epochs", {})[str(epoch)] = {**result, "content_hash": content_hash,
                                                 "graded_at": now_iso(), "source": source, "url": url}
    write_json_atomic(run.results_file, data)


async def submit_async(cfg: EvaluatorConfig, run: RunFolder, show_progress: bool = True,
                       echo: Callable[[str], None] = print) -> Dict[int, str]:
    """Submit each assembled epoch in turn; returns {epoch: outcome} for the summary."""
    epochs = list(cfg.epochs) or assembled_epochs(run)
    if not epochs:
        raise RunFolderError(f"no batches in {run.batches_dir}: run `critpt-harness assemble run_dir={run.path}`")
    manifest = run.manifest()
    if manifest.get("public_set") is False and is_official_url(cfg.url):
        raise BatchError(f"{run.path} answers a private problem set (dataset.public=false); the official grader "
                         "grades only the public set. Grade it here with `critpt-harness grade-local`, or "
                         "rehearse against `critpt-harness serve-grader` (evaluator.url=...).")
    subset = manifest.get("subset")
    if subset and manifest.get("public_set") is not False:  # any grader: its score would not be a CritPt score
        raise BatchError(f"{run.path} answers a subset of the public set ({subset.get('problems')} of "
                         f"{subset.get('of')} problems: dataset.ids / dataset.limit). The official grader accepts "
                         "only batches covering its whole public set, and a subset's score would not be a CritPt "
                         "score, so nothing is posted (or written as a request). For a gradable run, generate the "
                         "full set in a new run_dir (without dataset.ids / dataset.limit).")
    prepared = {}
    for epoch in epochs:
        batch, body, digest = load_batch(run, epoch)
        if len(body) > cfg.max_body_mb * 1e6:
            raise BatchError(f"epoch {epoch}: the batch body is {len(body) / 1e6:.1f} MB, over evaluator.max_body_mb="
                             f"{cfg.max_body_mb:g}; nothing was posted. Set evaluator.messages=official (one message "
                             "per answer, the default) or none, run `critpt-harness assemble` again, then submit; or "
                             "raise evaluator.max_body_mb if the grader takes larger bodies.")
        failures = check_failures(run, epoch)
        if failures and cfg.check_policy == "block":
            raise BatchError(f"epoch {epoch}: {len(failures)} problems fail pre-submission checks "
                             f"({', '.join(sorted(failures)[:10])}) and evaluator.check_policy=block. "
                             "Inspect them in batches/epoch_N.checks.json, or set evaluator.check_policy=warn.")
        if failures:
            echo(f"warning: epoch {epoch}: {len(failures)} problems fail pre-submission checks "
                 f"(see {run.checks_file(epoch)})")
        prepared[epoch] = (body, digest, [sub.problem_id for sub in batch.submissions])

    outcomes: Dict[int, str] = {}
    if cfg.dry_run:
        for epoch, (body, digest, _) in prepared.items():
            write_json_atomic(run.path / "requests" / f"epoch_{epoch}.request.json", {
                "method": "POST", "url": cfg.url,
                "headers": {"x-api-key": f"<from ${cfg.api_key_env}>", "content-type": "application/json"},
                "body_file": str(run.batch_file(epoch).relative_to(run.path)),
                "body_bytes": len(body), "content_hash": digest, "validated_at": now_iso()})
            outcomes[epoch] = "dry run: request written, nothing sent"
        return outcomes

    ledger = Ledger(ledger_path(cfg))
    api_key = require_key(cfg.api_key_env, "evaluator.api_key_env")
    lock = FileLock(str(ledger.path) + ".lock")
    ledger.path.parent.mkdir(parents=True, exist_ok=True)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        # another process (a parallel sweep job, say) is submitting: wait our turn, bounded
        echo(f"waiting up to {cfg.lock_wait:g} s for another critpt-harness submit to finish (lock {lock.lock_file})")
        try:
            lock.acquire(timeout=cfg.lock_wait)
        except Timeout as exc:
            raise GraderError(f"another critpt-harness process kept submitting for evaluator.lock_wait="
                              f"{cfg.lock_wait:g}s (lock {lock.lock_file}); the grader takes one batch at a time "
                              "per key: run this submit again when it is done, or raise evaluator.lock_wait") from exc
    try:
        with JsonlAppender(run.submissions_file) as attempts_log:
            grader = GraderClient(cfg, api_key, attempts_log, show_progress)
            policy = RetryPolicy.from_config(cfg.retry, transient=(httpx.TransportError, GraderStreamError))
            async with async_client(timeout=cfg.timeout, connect_timeout=cfg.connect_timeout) as client:
                for epoch, (body, digest, ids) in prepared.items():
                    outcomes[epoch] = await _submit_epoch(cfg, run, ledger, grader, policy, client, epoch,
                                                          body, digest, echo, ids)
    finally:
        lock.release()
    return outcomes


async def _submit_epoch(cfg: EvaluatorConfig, run: RunFolder, ledger: Ledger, grader: GraderClient,
                        policy: RetryPolicy, client: httpx.AsyncClient, epoch: int, body: bytes, digest: str,
                        echo: Callable[[str], None], ids: Sequence[str] = ()) -> str:
    previous = ledger.find(digest, cfg.url)
    if previous and not cfg.force:
        store_result(run, epoch, digest, previous.result, f"ledger: graded {previous.graded_at:%Y-%m-%d %H:%M} "
                     f"(run {previous.run_dir}, epoch {previous.epoch})", cfg.url)
        return "already graded: result reused (evaluator.force=true grades it again)"
    window = timedelta(hours=cfg.quota_window_hours)
    day_ago = datetime.now(timezone.utc) - window
    for e in ledger.unfinished(digest, cfg.url):
        echo(f"notice: epoch {e.epoch} was being graded when the last submit stopped (started "
             f"{e.graded_at:%Y-%m-%d %H:%M} UTC); the grader may have counted it"
             + (", so it counts against evaluator.daily_limit until "
                f"{e.graded_at + window:%Y-%m-%d %H:%M} UTC" if e.graded_at >= day_ago else "")
             + ". It has no result: it is graded again if the quota allows.")
    used = ledger.used_since(day_ago, cfg.url)
    if len(used) >= cfg.daily_limit:
        frees = min(e.graded_at for e in used) + window
        raise QuotaExhausted(f"epoch {epoch}: {len(used)} gradings in the last {cfg.quota_window_hours:g} h "
                             f"(evaluator.daily_limit={cfg.daily_limit}); the next slot frees at "
                             f"{frees:%Y-%m-%d %H:%M:%S UTC}. Run the same submit command again after that "
                             "(or queue it: `critpt-harness queue add`, then `critpt-harness queue run --wait`).",
                             until=frees)
    remaining = grader.last_rate_limit.get("x-ratelimit-remaining")
    if remaining is not None and remaining.strip().isdigit() and int(remaining) <= 0:
        reset = parse_reset(grader.last_rate_limit.get("x-ratelimit-reset"))
        raise QuotaExhausted(f"epoch {epoch}: the grader reports 0 gradings remaining"
                             + (f" until {reset:%Y-%m-%d %H:%M UTC}" if reset else "")
                             + "; run the same submit command again after that.", until=reset)
    echo(f"epoch {epoch}: posting {len(body) / 1024:.0f} KiB to {cfg.url} ...")
    attempt = 0

    data: Dict[str, Any] = {}

    async def once() -> GradingResult:
        nonlocal attempt, data
        attempt += 1
        attempt_id = uuid.uuid4().hex
        # Recorded before the POST: a submit killed while the grader works leaves this behind.
        grader.begin(epoch, digest, attempt, attempt_id, str(run.path))
        ledger.begin(attempt_id, digest, str(run.path), epoch, cfg.url)
        try:
            result = await grader.post_once(client, body, epoch, digest, attempt, attempt_id)
        except (HTTPStatusError, GraderStreamError) as exc:  # the grader answered: refunded
            mismatch = set_mismatch(exc, ids)
            ledger.close(attempt_id, digest, cfg.url, REFUNDED,
                         (mismatch.short() + ": " if mismatch else "") + redact(str(exc))[:300])
            raise
        except NOT_SENT as exc:  # the body never fully reached the grader
            ledger.close(attempt_id, digest, cfg.url, REFUNDED, grader.transport_reason(exc))
            raise
        except (GradingOutcomeUnknown, httpx.TransportError, GraderError) as exc:
            # sent, but no usable answer: the grader may count it
            ledger.close(attempt_id, digest, cfg.url, UNKNOWN, redact(str(exc))[:300] or type(exc).__name__)
            if isinstance(exc, GraderError):
                raise
            raise GradingOutcomeUnknown(str(exc)) from exc
        data = result.model_dump(mode="json")
        ledger.add(digest, str(run.path), epoch, data, cfg.url, attempt_id=attempt_id)
        return result

    def on_retry(n: int, exc: BaseException, wait: float) -> None:
        reason = grader.transport_reason(exc) if isinstance(exc, httpx.TransportError) else str(exc).strip()
        echo(f"epoch {epoch}: attempt {n} failed ({redact(reason or type(exc).__name__)[:160]}); "
             f"retrying in {wait:.0f}s")

    try:
        result, _ = await policy.call(once, on_retry=on_retry)
    except (HTTPStatusError, RetryAfterTooLong, httpx.TransportError, GraderStreamError,
            GradingOutcomeUnknown) as exc:
        raise explain(exc, epoch, ids, (run.manifest().get("dataset") or {}).get("version")) from exc
    local = bool(data.get("local_grader"))
    store_result(run, epoch, digest, data, f"local grader {cfg.url}" if local else "grader", cfg.url)
    return f"graded{' by a LOCAL grader' if local else ''}: accuracy {result.accuracy:.4f}"
