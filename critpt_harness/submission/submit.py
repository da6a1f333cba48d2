"""The grader client: one batch at a time, every attempt recorded first, and
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
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import httpx
from filelock import FileLock, Timeout
from pydantic import ValidationError
from tqdm import tqdm

from ..batches.batch import coverage, expected_ids, submissions_hash
from ..config import EvaluatorConfig
from ..contracts import Batch, GradingResult
from ..errors import BatchError, GraderError, QuotaExhausted, RunFolderError
from ..failures import HTTPStatusError, RetryAfterTooLong, classify, headers_of, parse_reset, quota_until
from ..http import async_client
from ..retry import RetryPolicy
from ..runs import default_cache_dir
from ..provenance import is_official_url
from ..runfiles import JsonlAppender, read_json, read_jsonl, write_json_atomic
from ..runs import RunFolder, now_iso
from ..secrets import redact, require_key

log = logging.getLogger(__name__)

RATE_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "retry-after")
ADVICE = {
    400: "the grader rejected the request body. Check that the batch covers all public problems "
         "(`critpt-harness assemble`) and that evaluator.url is the CritPt evaluate endpoint.",
    401: "the API key was refused. Check the variable named by evaluator.api_key_env "
         "(an Artificial Analysis key from the Insights Platform).",
    403: "this key has no CritPt grading access. Ask Artificial Analysis to enable it for your account.",
    413: "the request body is too large for the grader; retrying would not help. Set "
         "evaluator.messages=none (sends the answers without conversations), run "
         "`critpt-harness assemble` again, then submit.",
}


class GraderStreamError(Exception):
    """The NDJSON stream ended with an error event (treated like a refunded 5xx)."""


class GradingOutcomeUnknown(Exception):
    """The body reached the grader but no answer came back (read timeout, dropped
    connection): the grader may still finish and count it. Never retried."""


# Transport failures before the request body was fully sent: the grader cannot
# have started grading, so the attempt is refunded. Any other transport failure
# (read timeout, read error, a connection dropped after the body) is "unknown".
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.WriteError,
            httpx.WriteTimeout, httpx.UnsupportedProtocol, httpx.ProxyError)

GRADED, IN_FLIGHT, UNKNOWN, REFUNDED = "graded", "in_flight", "unknown", "refunded"


@dataclass
class LedgerEntry:
    content_hash: str
    graded_at: datetime  # for an unfinished attempt: when it was posted
    run_dir: str
    epoch: int
    result: Dict[str, Any]
    url: str
    state: str = GRADED  # graded, or in_flight/unknown (the grader may have counted it)

    @property
    def graded(self) -> bool:
        return self.state == GRADED


class Ledger:
    """Graded batch hashes for all runs on this machine, per grader URL, plus the
    quota they used: a rehearsal on a local grader never stands in for, or uses
    the quota of, the real one."""

    def __init__(self, path: Path):
        self.path = path

    def entries(self, url: str) -> List[LedgerEntry]:
        """Gradings (and unfinished attempts) for ``url``. Entries with an
        ``attempt_id`` are folded: an "in_flight" entry is completed by a later
        "graded" one, closed by "refunded", or stays open ("in_flight"/"unknown").
        Entries without one (older ledgers) are completed gradings."""
        out: List[LedgerEntry] = []
        attempts: Dict[str, LedgerEntry] = {}
        for raw in read_jsonl(self.path, versioned=True):
            if not raw.get("content_hash") or raw.get("url") != url:
                continue
            state = raw.get("state", GRADED)
            attempt_id = raw.get("attempt_id")
            if state == REFUNDED:
                if attempt_id in attempts:
                    out.remove(attempts.pop(attempt_id))
                continue
            when = parse_reset(raw.get("graded_at") if state == GRADED else raw.get("started_at"))
            previous = attempts.get(attempt_id) if attempt_id else None
            if previous is not None:
                if state == GRADED and when:
                    previous.state, previous.graded_at, previous.result = GRADED, when, raw.get("result", {})
                elif state == UNKNOWN:
                    previous.state = UNKNOWN
                continue
            if not when:
                continue
            entry = LedgerEntry(raw["content_hash"], when, raw.get("run_dir", ""), int(raw.get("epoch", -1)),
                                raw.get("result", {}) if state == GRADED else {}, url,
                                GRADED if state == GRADED else state)
            out.append(entry)
            if attempt_id:
                attempts[attempt_id] = entry
        return out

    def find(self, content_hash: str, url: str) -> Optional[LedgerEntry]:
        return next((e for e in self.entries(url) if e.content_hash == content_hash and e.graded), None)

    def unfinished(self, content_hash: str, url: str) -> List[LedgerEntry]:
        """Attempts for this content that were posted but never answered."""
        return [e for e in self.entries(url) if e.content_hash == content_hash and not e.graded]

    def used_since(self, since: datetime, url: str) -> List[LedgerEntry]:
        """Gradings since ``since``, unfinished attempts included (the grader may have counted them)."""
        return [e for e in self.entries(url) if e.graded_at >= since]

    def _append(self, record: Dict[str, Any]) -> None:
        with JsonlAppender(self.path, versioned=True) as w:
            w.write(record)
            w.sync()

    def add(self, content_hash: str, run_dir: str, epoch: int, result: Dict[str, Any], url: str,
            attempt_id: Optional[str] = None) -> None:
        record = {"content_hash": content_hash, "graded_at": now_iso(), "run_dir": run_dir,
                  "epoch": epoch, "result": result, "url": url}
        if attempt_id:
            record.update(attempt_id=attempt_id, state=GRADED)
        self._append(record)

    def begin(self, attempt_id: str, content_hash: str, run_dir: str, epoch: int, url: str) -> None:
        """Written (and fsynced) before the POST."""
        self._append({"attempt_id": attempt_id, "state": IN_FLIGHT, "content_hash": content_hash,
                      "started_at": now_iso(), "run_dir": run_dir, "epoch": epoch, "url": url})

    def close(self, attempt_id: str, content_hash: str, url: str, state: str, reason: str) -> None:
        """Mark an attempt refunded, or unknown (no answer; the grader may count it)."""
        self._append({"attempt_id": attempt_id, "state": state, "content_hash": content_hash,
                      "closed_at": now_iso(), "url": url, "reason": reason})


def ledger_path(cfg: EvaluatorConfig) -> Path:
    return Path(cfg.ledger_path).expanduser() if cfg.ledger_path else default_cache_dir() / "graded-ledger.jsonl"


def _rate_limit(headers: httpx.Headers | Dict[str, str]) -> Dict[str, str]:
    lowered = {k.lower(): v for k, v in headers.items()}
    return {k: lowered[k] for k in RATE_HEADERS if k in lowered}


def _parse_body(text: str) -> Any:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, ValueError):
        return text[:20000]


class GraderClient:
    """POSTs one batch and records the attempt in ``submissions.jsonl`` before
    anything else is done with the reply."""

    def __init__(self, cfg: EvaluatorConfig, api_key: str, attempts_log: JsonlAppender, show_progress: bool = True):
        self.cfg = cfg
        self.api_key = api_key
        self.log = attempts_log
        self.show_progress = show_progress
        self.last_rate_limit: Dict[str, str] = {}

    def _url(self) -> str:
        if not self.cfg.stream_progress:
            return self.cfg.url
        sep = "&" if "?" in self.cfg.url else "?"
        return f"{self.cfg.url}{sep}stream_progress=true"

    def _record(self, epoch: int, content_hash: str, attempt: int, status: Optional[int],
                headers: Dict[str, str], body: Any, error: Optional[str] = None,
                attempt_id: Optional[str] = None, state: Optional[str] = None) -> None:
        record = {"at": now_iso(), "epoch": epoch, "content_hash": content_hash, "attempt": attempt,
                  "url": self.cfg.url, "status": status, "rate_limit": _rate_limit(headers),
                  "body": body, "error": error}
        if attempt_id:
            record.update(attempt_id=attempt_id, state=state)
        self.log.write(record)
        self.log.sync()

    def begin(self, epoch: int, content_hash: str, attempt: int, attempt_id: str, run_dir: str) -> None:
        """The "in flight" entry, written and fsynced before the POST."""
        self.log.write({"at": now_iso(), "epoch": epoch, "content_hash": content_hash, "attempt": attempt,
                        "attempt_id": attempt_id, "state": IN_FLIGHT, "url": self.cfg.url, "run_dir": run_dir})
        self.log.sync()

    def transport_reason(self, exc: BaseException) -> str:
        if isinstance(exc, httpx.ReadTimeout):
            return f"no answer within evaluator.timeout={self.cfg.timeout:g}s"
        if isinstance(exc, httpx.ConnectTimeout):
            return f"no connection within evaluator.connect_timeout={self.cfg.connect_timeout:g}s"
        text = str(exc).strip()
        return f"{type(exc).__name__}: {text}" if text else type(exc).__name__

    async def _read_stream(self, response: httpx.Response) -> tuple[str, Any]:
        """Read a reply that may be an NDJSON progress stream or plain JSON.
        Returns (raw text, final payload or parsed body)."""
        bar: Optional[tqdm] = None
        lines: List[str] = []
        payload: Any = None
        try:
            async for line in response.aiter_lines():
                if not line.strip():
                    continue
                lines.append(line)
                try:
                    event = json.loads(line)
                except json.JSONDecodeError:
                    continue
                kind = event.get("type") if isinstance(event, dict) else None
                if kind in ("status", "progress"):
                    total = event.get("total")
                    if bar is None and self.show_progress:
                        bar = tqdm(total=total, desc="grading", unit="problem", dynamic_ncols=True)
                    if bar is not None:
                        if total:
                            bar.total = total
                        bar.n = event.get("completed", bar.n)
                        bar.refresh()
                elif kind == "result":
                    payload = event.get("payload", {})
                elif kind == "error":
                    payload = {"error": event.get("message", "grading failed")}
        finally:
            if bar is not None:
                bar.close()
        text = "\n".join(lines)
        if payload is None:  # a plain JSON reply
            payload = _parse_body(text)
        return text, payload

    async def post_once(self, client: httpx.AsyncClient, body: bytes, epoch: int, content_hash: str,
                        attempt: int, attempt_id: Optional[str] = None) -> GradingResult:
        headers = {"x-api-key": self.api_key, "content-type": "application/json",
                   "accept": "application/x-ndjson, application/json"}
        try:
            async with client.stream("POST", self._url(), content=body, headers=headers) as response:
                if response.status_code == 200:
                    _, payload = await self._read_stream(response)
                else:
                    payload = _parse_body((await response.aread()).decode("utf-8", "replace"))
        except httpx.TransportError as exc:
            reason = self.transport_reason(exc)
            if isinstance(exc, NOT_SENT):
                self._record(epoch, content_hash, attempt, None, {}, None, reason, attempt_id, REFUNDED)
                raise
            self._record(epoch, content_hash, attempt, None, {}, None, reason, attempt_id, UNKNOWN)
            raise GradingOutcomeUnknown(reason) from exc
        state = REFUNDED
        if response.status_code == 200 and not (isinstance(payload, dict) and "error" in payload
                                                and "accuracy" not in payload):
            try:  # a 200 without a result was counted but is unusable: unknown, like the ledger says
                GradingResult.model_validate(payload)
                state = GRADED
            except ValidationError:
                state = UNKNOWN
        self._record(epoch, content_hash, attempt, response.status_code, dict(response.headers), payload,
                     attempt_id=attempt_id, state=state)
        self.last_rate_limit = _rate_limit(response.headers)
        if response.status_code != 200:
            merged = dict(response.headers)
            # The 429 body carries retryAfter too; use it when the header is absent.
            if isinstance(payload, dict) and payload.get("retryAfter") is not None and "retry-after" not in {
                    k.lower() for k in merged}:
                merged["retry-after"] = str(payload["retryAfter"])
            raise HTTPStatusError(response.status_code, merged, json.dumps(payload) if not isinstance(
                payload, str) else payload, self.cfg.url)
        if isinstance(payload, dict) and "error" in payload and "accuracy" not in payload:
            raise GraderStreamError(str(payload["error"]))
        try:
            return GradingResult.model_validate(payload)
        except ValidationError as exc:
            raise GraderError(
                f"the grader answered 200 but not with a result ({str(payload)[:300]}). "
                f"The reply is stored in submissions.jsonl."
            ) from exc


def _quota_message(exc: BaseException) -> str:
    cause = exc.cause if isinstance(exc, RetryAfterTooLong) else exc
    reset = quota_until(getattr(cause, "headers", {}), getattr(cause, "body", "") or "")
    when = reset.strftime("%Y-%m-%d %H:%M UTC") if reset else "an unknown time"
    return (f"the grading quota is used up (HTTP 429): it resets at {when}. Nothing was graded twice; "
            "run the same `critpt-harness submit run_dir=...` again after that.")


def _explain(exc: BaseException, epoch: int) -> Exception:
    if isinstance(exc, GraderStreamError):
        return GraderError(f"epoch {epoch}: the grader reported an error while grading ({exc}). "
                           "Failed gradings are refunded; try again later.")
    if isinstance(exc, GradingOutcomeUnknown):
        return GraderError(f"epoch {epoch}: the batch was sent but the grader did not answer ({exc}). The grader "
                           "may still finish and count this grading, so it was not retried. It counts against "
                           "evaluator.daily_limit for 24 h; the next `critpt-harness submit` grades the epoch again "
                           "if the quota allows (consider a longer evaluator.timeout).")
    failure = classify(exc)
    if failure.kind == "rate_limited" or isinstance(exc, RetryAfterTooLong):  # a long wait is a quota
        cause = exc.cause if isinstance(exc, RetryAfterTooLong) else exc
        until = quota_until(headers_of(cause), getattr(cause, "body", "") or "")
        return QuotaExhausted(f"epoch {epoch}: " + _quota_message(exc), until=until)
    if failure.status in ADVICE:
        return GraderError(f"epoch {epoch}: HTTP {failure.status}: {failure.message}\n-> {ADVICE[failure.status]}")
    if failure.status is not None:
        return GraderError(f"epoch {epoch}: the grader kept failing (last: HTTP {failure.status}: "
                           f"{failure.message[:200]}). Failed gradings are refunded; try again later.")
    return GraderError(f"epoch {epoch}: could not reach the grader ({type(exc).__name__}: {failure.message}); "
                       "nothing was sent, so nothing was counted. Check evaluator.url and your network, then retry.")


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
                         "grades only the 70 public problems. Grade it here with `critpt-harness grade-local`, or "
                         "rehearse against `critpt-harness serve-grader` (evaluator.url=...).")
    subset = manifest.get("subset")
    if subset and manifest.get("public_set") is not False:  # any grader: its score would not be a CritPt score
        raise BatchError(f"{run.path} answers a subset of the public set ({subset.get('problems')} of "
                         f"{subset.get('of')} problems: dataset.ids / dataset.limit). The official grader accepts "
                         "only batches covering all 70 public problems, and a subset's score would not be a CritPt "
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
        prepared[epoch] = (body, digest)

    outcomes: Dict[int, str] = {}
    if cfg.dry_run:
        for epoch, (body, digest) in prepared.items():
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
                for epoch, (body, digest) in prepared.items():
                    outcomes[epoch] = await _submit_epoch(cfg, run, ledger, grader, policy, client, epoch,
                                                          body, digest, echo)
    finally:
        lock.release()
    return outcomes


async def _submit_epoch(cfg: EvaluatorConfig, run: RunFolder, ledger: Ledger, grader: GraderClient,
                        policy: RetryPolicy, client: httpx.AsyncClient, epoch: int, body: bytes, digest: str,
                        echo: Callable[[str], None]) -> str:
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
            ledger.close(attempt_id, digest, cfg.url, REFUNDED, redact(str(exc))[:300])
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
        raise _explain(exc, epoch) from exc
    local = bool(data.get("local_grader"))
    store_result(run, epoch, digest, data, f"local grader {cfg.url}" if local else "grader", cfg.url)
    return f"graded{' by a LOCAL grader' if local else ''}: accuracy {result.accuracy:.4f}"
