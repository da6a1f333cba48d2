"""The grader client: one POST of a batch, the attempt recorded in ``submissions.jsonl`` before
anything else is done with the reply, the NDJSON progress stream, and what each failure means
for the user (refunded, counted, quota used up).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence

import httpx
from pydantic import ValidationError
from tqdm import tqdm

from ..config import EvaluatorConfig
from ..contracts import GradingResult
from ..errors import GraderError, QuotaExhausted
from ..failures import HTTPStatusError, RetryAfterTooLong, classify, quota_until
from ..runfiles import JsonlAppender
from ..runs import now_iso
from .ledger import GRADED, IN_FLIGHT, REFUNDED, UNKNOWN

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


# A CritPt problem id as a grader names it (Challenge_12_main; a checkpoint adds _sub_1 and the like).
PROBLEM_ID = re.compile(r"\b[A-Za-z][A-Za-z0-9]*_\d+(?:_[A-Za-z0-9]+)+\b")
_NOT_KNOWN = re.compile(r"unknown|not (?:in|part of|found|known|recogni[sz]ed)|invalid", re.I)


@dataclass
class SetMismatch:
    """A 400 saying the batch is not the grader's problem set: the grader has moved to another version."""

    lacks: List[str]  # ids the grader names that the batch does not hold
    unknown: List[str]  # ids of the batch the grader names as not its own

    def short(self) -> str:
        parts = [f"{label} {len(ids)}: {', '.join(ids[:8])}{', ...' if len(ids) > 8 else ''}"
                 for label, ids in (("lacks", self.lacks), ("grader does not know", self.unknown)) if ids]
        return "the grader's problem set differs from the batch (" + "; ".join(parts) + ")"


def set_mismatch(exc: BaseException, batch_ids: Sequence[str]) -> Optional[SetMismatch]:
    """The ids a 400's body names, when they say the grader grades other problems than the batch's."""
    if classify(exc).status != 400:
        return None
    body = str(getattr(exc, "body", "") or "")
    named = list(dict.fromkeys(PROBLEM_ID.findall(body)))
    ours = set(batch_ids)
    lacks = [i for i in named if i not in ours]
    unknown = [i for i in named if i in ours] if _NOT_KNOWN.search(body) else []
    return SetMismatch(lacks, unknown) if lacks or unknown else None


def _moved_on(mismatch: SetMismatch, epoch: int, version: Optional[str], size: int, words: str) -> GraderError:
    from ..data import versions

    mine = versions.get(version) if version in {v.name for v in versions.known_versions()} else None
    others = [v for v in versions.known_versions() if v.name != (mine.name if mine else version)]
    fits = [v for v in others if v.known and set(mismatch.lacks) <= set(v.problem_ids or [])
            and not set(mismatch.unknown) & set(v.problem_ids or [])]
    target = fits[0] if fits else (others[-1] if others else None)
    if target is None:
        pull = "`critpt-harness data pull dataset.version=<the grader's version>`"
    elif target.known:
        pull = f"`critpt-harness data pull dataset.version={target.name}`"
    else:  # its ids are not known here: only its Hugging Face copy, unverified
        pull = (f"`critpt-harness data pull dataset.version={target.name} dataset.source=huggingface "
                "dataset.revision=main dataset.verify=false`")
    said = "; ".join(f"{len(ids)} {what} ({', '.join(ids[:10])}{', ...' if len(ids) > 10 else ''})" for what, ids in (
        ("problem(s) it expects that this batch lacks", mismatch.lacks),
        ("problem(s) of this batch it does not know", mismatch.unknown)) if ids)
    return GraderError(
        f"epoch {epoch}: the grader rejected the batch (HTTP 400) and names {said}. The grader seems to grade "
        f"another CritPt version than this run's ({f'CritPt {version}' if version else 'its set'}, {size} problems)"
        f"{f', probably CritPt {target.name}' if target is not None and fits else ''}. Nothing was retried; the "
        f"attempt is refunded (the ledger says so). Pull the version it grades with {pull}, then answer it in a "
        f"new run_dir (`critpt-harness run dataset.version={target.name if target else '...'}`; a run folder keeps "
        f"one version). The grader said: {words[:300]}")


def explain(exc: BaseException, epoch: int, batch_ids: Sequence[str] = (), version: Optional[str] = None
            ) -> Exception:
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
        return QuotaExhausted(f"epoch {epoch}: " + _quota_message(exc), until=failure.until)
    mismatch = set_mismatch(exc, batch_ids)
    if mismatch is not None:
        return _moved_on(mismatch, epoch, version, len(batch_ids), failure.message)
    if failure.status in ADVICE:
        return GraderError(f"epoch {epoch}: HTTP {failure.status}: {failure.message}\n-> {ADVICE[failure.status]}")
    if failure.status is not None:
        return GraderError(f"epoch {epoch}: the grader kept failing (last: HTTP {failure.status}: "
                           f"{failure.message[:200]}). Failed gradings are refunded; try again later.")
    return GraderError(f"epoch {epoch}: could not reach the grader ({type(exc).__name__}: {failure.message}); "
                       "nothing was sent, so nothing was counted. Check evaluator.url and your network, then retry.")

