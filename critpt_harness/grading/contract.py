"""The HTTP contract of the CritPt evaluate endpoint (Artificial Analysis), as a
mixin for a ``testing.servers.FakeServer`` subclass. Used by the fake grader of
the tests (``FakeGrader``: a stand-in grade) and by ``serve-grader`` (golden
answers); a subclass only says how a batch is graded (:meth:`evaluate`).

- ``x-api-key`` must match (401); ``forbidden`` answers 403;
- a quota of ``limit`` successful gradings per window; only 200 counts; 429 with
  ``Retry-After`` and the body ``{error, limit, remaining, reset, retryAfter}``;
- ``X-RateLimit-Limit/-Remaining/-Reset`` (a JavaScript Date string);
- the batch must hold every id of ``ids`` exactly once (400), with ``generated_code``,
  ``model`` and ``generation_config`` in each submission and a ``batch_metadata`` object;
- one batch graded at a time; a plain JSON reply, or NDJSON events
  (status, progress, result) with ``?stream_progress=true``;
- :class:`Refunded` from ``evaluate`` becomes a 502/504 that uses no quota.

This module must not import ``testing.servers`` at load time: that module
imports this one (the replies are built through a late import).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence

if TYPE_CHECKING:
    from ..testing.servers import Reply, Request

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


def _reply(status: int, payload: Any, headers: Optional[Dict[str, str]] = None) -> "Reply":
    from ..testing.servers import json_reply  # late: that module imports this one

    return json_reply(status, payload, headers)


def _stream(events: List[Dict[str, Any]], headers: Dict[str, str]) -> "Reply":
    from ..testing.servers import Reply

    return Reply(lines=events, headers=headers)


class EvaluateContract:
    """Mixin (put it before FakeServer in the bases) implementing ``respond``."""

    PATH = EVALUATE_PATH
    # Named in the 400 reply for incomplete batches.
    SET_NAME = "the public set"

    api_key: str
    limit: int
    remaining: int
    ids: Sequence[str]
    forbidden: bool
    reset_at: datetime
    window: timedelta
    graded: List[Dict[str, Any]]

    def setup_contract(self, *, api_key: str, limit: int, ids: Sequence[str], forbidden: bool = False,
                       window: timedelta = timedelta(hours=24)) -> None:
        self.api_key = api_key
        self.limit = limit
        self.remaining = limit
        self.ids = ids
        self.forbidden = forbidden
        self.window = window
        self.reset_at = datetime.now(timezone.utc).replace(microsecond=0) + window
        self.graded = []
        self._grading_lock: Optional[asyncio.Lock] = None
        self._lock_loop: Optional[asyncio.AbstractEventLoop] = None

    @property
    def url(self) -> str:
        return self.root + self.PATH  # type: ignore[attr-defined]  # FakeServer.root

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

    # the contract
    def rate_headers(self) -> Dict[str, str]:
        return {"X-RateLimit-Limit": str(self.limit), "X-RateLimit-Remaining": str(self.remaining),
                "X-RateLimit-Reset": js_date(self.reset_at)}

    _rate_headers = rate_headers  # the name FakeGrader had

    def _roll_window(self) -> None:
        now = datetime.now(timezone.utc)
        if now >= self.reset_at:
            self.remaining = self.limit
            self.reset_at = now.replace(microsecond=0) + self.window

    def _quota_exceeded(self) -> "Reply":
        wait = max(0, int((self.reset_at - datetime.now(timezone.utc)).total_seconds()))
        return _reply(429, {"error": "Rate limit exceeded", "limit": self.limit, "remaining": 0,
                            "reset": js_date(self.reset_at), "retryAfter": wait},
                      {**self.rate_headers(), "Retry-After": str(wait)})

    def coverage_error(self, ids: List[str]) -> Optional[str]:
        counts = Counter(ids)
        expected = set(self.ids)
        missing = [i for i in self.ids if i not in counts]
        extra = [i for i in counts if i not in expected]
        twice = [i for i, n in counts.items() if n > 1]
        if not (missing or extra or twice):
            return None
        parts = [f"{label} {len(found)}: {', '.join(found[:10])}{', ...' if len(found) > 10 else ''}"
                 for label, found in (("missing", missing), ("unknown", extra), ("duplicated", twice)) if found]
        return f"Submissions must include every problem in {self.SET_NAME} exactly once ({'; '.join(parts)})"

    async def respond(self, req: "Request") -> "Reply":
        reply = await self._respond(req)
        reply.headers = {**reply.headers, **self.marker_headers()}
        if isinstance(reply.payload, dict):
            reply.payload = self.annotate(reply.payload)
        if reply.lines is not None:
            reply.lines = [self.annotate(e) if isinstance(e, dict) else e for e in reply.lines]
        return reply

    async def _respond(self, req: "Request") -> "Reply":
        if req.path != self.PATH or req.method != "POST":
            return _reply(404, {"error": "Not found"})
        if req.headers.get("x-api-key") != self.api_key:
            return _reply(401, {"error": "Invalid or missing API key"})
        if self.forbidden:
            return _reply(403, {"error": "This API key does not have access to CritPt evaluation"})
        self._roll_window()
        if self.remaining <= 0:
            return self._quota_exceeded()
        try:
            body = req.json()
            subs = body["submissions"]
            ids = [s["problem_id"] for s in subs]
            for s in subs:
                for key in ("generated_code", "model", "generation_config"):
                    if key not in s:
                        raise ValueError(f"submission {s.get('problem_id')} lacks {key}")
            if not isinstance(body.get("batch_metadata"), dict):
                raise ValueError("batch_metadata must be an object")
        except (ValueError, KeyError, TypeError) as exc:
            return _reply(400, {"error": f"Invalid request body: {exc}"})
        problem = self.coverage_error(ids)
        if problem:
            return _reply(400, {"error": problem})
        loop = asyncio.get_running_loop()
        if self._grading_lock is None or self._lock_loop is not loop:  # a restarted server has a new loop
            self._grading_lock, self._lock_loop = asyncio.Lock(), loop
        async with self._grading_lock:  # one batch at a time, like the real grader per key
            self._roll_window()
            if self.remaining <= 0:
                return self._quota_exceeded()
            try:
                result = await self.evaluate(subs, body)
            except Refunded as exc:
                return _reply(exc.status, {"error": exc.message})
            self.remaining -= 1
            self.graded.append({"metadata": body["batch_metadata"], "result": result})
        if req.query.get("stream_progress") == ["true"]:
            events: List[Dict[str, Any]] = [{"type": "status", "total": len(subs)}]
            events += [{"type": "progress", "completed": n, "total": len(subs)} for n in (len(subs) // 2, len(subs))]
            events.append({"type": "result", "payload": result})
            return _stream(events, self.rate_headers())
        return _reply(200, result, self.rate_headers())
