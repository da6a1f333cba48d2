"""The HTTP contract of the CritPt evaluate endpoint (Artificial Analysis), as plain
functions over request and response models. Served by ``serve-grader`` (golden
answers, server.py) and by the tests' fake grader (a stand-in grade), both through
web.py; a grader only says how a batch is graded (:meth:`EvaluateContract.evaluate`).

- ``x-api-key`` must match (401); ``forbidden`` answers 403;
- a quota of ``limit`` successful gradings per window; only 200 counts; 429 with
  ``Retry-After`` and the body ``{error, limit, remaining, reset, retryAfter}``;
- ``X-RateLimit-Limit/-Remaining/-Reset`` (a JavaScript Date string);
- the batch must hold every id of ``ids`` exactly once (400), with ``generated_code``,
  ``model`` and ``generation_config`` in each submission and a ``batch_metadata`` object;
- one batch graded at a time; a plain JSON reply, or NDJSON events
  (status, progress, result) with ``?stream_progress=true``;
- :class:`Refunded` from ``evaluate`` becomes a 502/504 that uses no quota.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional, Sequence

from pydantic import BaseModel, ConfigDict, Field, ValidationError

EVALUATE_PATH = "/api/v2/critpt/evaluate"


def js_date(when: datetime) -> str:
    """The grader's reset format: a JavaScript Date string."""
    return when.strftime("%a %b %d %Y %H:%M:%S GMT+0000 (Coordinated Universal Time)")


class Refunded(Exception):
    """Grading failed on the server's side: answered with ``status``, no quota used."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


# Request models: what the API document requires; any other property is kept.
class EvaluateSubmission(BaseModel):
    model_config = ConfigDict(extra="allow")

    problem_id: str
    generated_code: str
    model: str
    generation_config: Dict[str, Any]
    messages: Optional[List[Any]] = None


class EvaluateRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    submissions: List[EvaluateSubmission]
    batch_metadata: Dict[str, Any]


class EvaluateCall(BaseModel):
    """One request as the contract sees it (the HTTP layer fills it in)."""

    method: str = "POST"
    path: str = EVALUATE_PATH
    api_key: Optional[str] = None
    body: bytes = b""
    stream_progress: bool = False


# Response models
class RateLimited(BaseModel):
    error: str = "Rate limit exceeded"
    limit: int
    remaining: int = 0
    reset: str
    retryAfter: int


class Answer(BaseModel):
    """A reply: a JSON ``body``, or NDJSON ``events`` sent one per line."""

    status: int
    body: Optional[Dict[str, Any]] = None
    events: Optional[List[Dict[str, Any]]] = None
    headers: Dict[str, str] = Field(default_factory=dict)


def error(status: int, message: str, headers: Optional[Dict[str, str]] = None) -> Answer:
    return Answer(status=status, body={"error": message}, headers=headers or {})


class EvaluateContract:
    """The endpoint's state (key, quota, problem set, graded batches) and the hooks a
    grader overrides; :func:`answer` applies the contract to one call."""

    PATH = EVALUATE_PATH
    # Named in the 400 reply for incomplete batches.
    SET_NAME = "the public set"

    def setup_contract(self, *, api_key: str, limit: int, ids: Sequence[str], forbidden: bool = False,
                       window: timedelta = timedelta(hours=24)) -> None:
        self.api_key = api_key
        self.limit = limit
        self.remaining = limit
        self.ids = ids
        self.forbidden = forbidden
        self.window = window
        self.reset_at = datetime.now(timezone.utc).replace(microsecond=0) + window
        self.graded: List[Dict[str, Any]] = []
        self._grading_lock: Optional[asyncio.Lock] = None
        self._lock_loop: Optional[asyncio.AbstractEventLoop] = None

    # hooks
    async def evaluate(self, submissions: List[Dict[str, Any]], body: Dict[str, Any]) -> Dict[str, Any]:
        """The result {accuracy, timeout_rate, server_timeout_count, judge_error_count, ...}."""
        raise NotImplementedError

    def annotate(self, payload: Dict[str, Any]) -> Dict[str, Any]:
        """Applied to every JSON body and NDJSON event sent (e.g. to mark a local grader)."""
        return payload

    def marker_headers(self) -> Dict[str, str]:
        """Headers added to every reply."""
        return {}

    def coverage_error(self, ids: List[str]) -> Optional[str]:
        return coverage_error(ids, self.ids, self.SET_NAME)

    # the quota
    def rate_headers(self) -> Dict[str, str]:
        return {"X-RateLimit-Limit": str(self.limit), "X-RateLimit-Remaining": str(self.remaining),
                "X-RateLimit-Reset": js_date(self.reset_at)}

    def roll_window(self) -> None:
        now = datetime.now(timezone.utc)
        if now >= self.reset_at:
            self.remaining = self.limit
            self.reset_at = now.replace(microsecond=0) + self.window

    def quota_exceeded(self) -> Answer:
        wait = max(0, int((self.reset_at - datetime.now(timezone.utc)).total_seconds()))
        body = RateLimited(limit=self.limit, reset=js_date(self.reset_at), retryAfter=wait)
        return Answer(status=429, body=body.model_dump(), headers={**self.rate_headers(), "Retry-After": str(wait)})

    def grading_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._grading_lock is None or self._lock_loop is not loop:  # a restarted server has a new loop
            self._grading_lock, self._lock_loop = asyncio.Lock(), loop
        return self._grading_lock


def coverage_error(ids: List[str], expected_ids: Sequence[str], set_name: str) -> Optional[str]:
    """Why ``ids`` is not every id of ``expected_ids`` exactly once (None if it is)."""
    counts = Counter(ids)
    expected = set(expected_ids)
    missing = [i for i in expected_ids if i not in counts]
    extra = [i for i in counts if i not in expected]
    twice = [i for i, n in counts.items() if n > 1]
    if not (missing or extra or twice):
        return None
    parts = [f"{label} {len(found)}: {', '.join(found[:10])}{', ...' if len(found) > 10 else ''}"
             for label, found in (("missing", missing), ("unknown", extra), ("duplicated", twice)) if found]
    return f"Submissions must include every problem in {set_name} exactly once ({'; '.join(parts)})"


def parse_request(body: bytes) -> EvaluateRequest:
    """The request body, or ValueError naming the first field at fault."""
    try:
        return EvaluateRequest.model_validate_json(body or b"null")
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise ValueError(f"{where}: {first['msg']}") from None


def progress_events(total: int, result: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The NDJSON stream of a graded batch: status, progress (half, all), result."""
    events: List[Dict[str, Any]] = [{"type": "status", "total": total}]
    events += [{"type": "progress", "completed": n, "total": total} for n in (total // 2, total)]
    return events + [{"type": "result", "payload": result}]


async def answer(contract: EvaluateContract, call: EvaluateCall) -> Answer:
    """The reply to one request, marked by the grader (:meth:`EvaluateContract.annotate`)."""
    reply = await _evaluate(contract, call)
    return Answer(status=reply.status, headers={**reply.headers, **contract.marker_headers()},
                  body=contract.annotate(reply.body) if reply.body is not None else None,
                  events=[contract.annotate(e) for e in reply.events] if reply.events is not None else None)


async def _evaluate(contract: EvaluateContract, call: EvaluateCall) -> Answer:
    if call.path != contract.PATH or call.method != "POST":
        return error(404, "Not found")
    if call.api_key != contract.api_key:
        return error(401, "Invalid or missing API key")
    if contract.forbidden:
        return error(403, "This API key does not have access to CritPt evaluation")
    contract.roll_window()
    if contract.remaining <= 0:
        return contract.quota_exceeded()
    try:
        request = parse_request(call.body)
    except ValueError as exc:
        return error(400, f"Invalid request body: {exc}")
    problem = contract.coverage_error([s.problem_id for s in request.submissions])
    if problem:
        return error(400, problem)
    body = request.model_dump(mode="json", exclude_unset=True)
    async with contract.grading_lock():  # one batch at a time, like the real grader per key
        contract.roll_window()
        if contract.remaining <= 0:
            return contract.quota_exceeded()
        try:
            result = await contract.evaluate(body["submissions"], body)
        except Refunded as exc:
            return error(exc.status, exc.message)
        contract.remaining -= 1
        contract.graded.append({"metadata": body["batch_metadata"], "result": result})
    if call.stream_progress:
        return Answer(status=200, events=progress_events(len(request.submissions), result),
                      headers=contract.rate_headers())
    return Answer(status=200, body=result, headers=contract.rate_headers())

