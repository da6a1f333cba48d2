"""The base of the fake catalog servers: each answers in one API's terms (written from
the documents in ``../shared/api-docs/``), records the requests it served (``requests``,
``count()``), can be told to fail the next requests (``fail_next``), and has an optional
request budget that answers 429 the way its API does. Data items carry a field no document
mentions (``x_unreleased``) so clients are seen to keep unknown fields."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import parse_qsl, unquote, urlsplit

from ..base import FakeServer, Reply as WireReply, Request

Reply = Tuple[int, Dict[str, str], Any]  # status, headers, body (dict/list -> JSON, str -> text)
EXTRA = {"x_unreleased": {"note": "a field no document mentions"}}


@dataclass
class Recorded:
    method: str
    path: str
    query: Dict[str, str]
    headers: Dict[str, str]  # lower-cased names
    body: Any = None


@dataclass
class _Failure:
    status: int
    path_prefix: Optional[str]
    headers: Dict[str, str] = field(default_factory=dict)
    body: Any = None


class FakeCatalogServer(FakeServer):
    """The shared fake server (tests.fakes.base) answering in one API's terms;
    subclasses implement :meth:`route`."""

    prefix = ""  # the API's path prefix, e.g. "/api/v2"

    def __init__(self) -> None:
        super().__init__()
        self.requests: List[Recorded] = []  # type: ignore[assignment]  # recorded by dispatch()
        self._failures: List[_Failure] = []
        # Requests answered before the fake starts refusing with its API's 429 (None = no budget).
        self.budget: Optional[int] = None

    def _take_fault(self, req: Request) -> None:
        return None  # dispatch() records the request and applies fail_next()

    async def respond(self, req: Request) -> WireReply:
        status, headers, body = self.dispatch(req.method, req.target, req.headers, req.body)
        if body is None or status == 304:
            return WireReply(status=status, headers=headers, raw=b"")
        if isinstance(body, (dict, list)):
            return WireReply(status=status, headers=headers, payload=body)
        return WireReply(status=status, headers=headers, raw=str(body).encode(),
                         content_type="text/plain; charset=utf-8")

    @property
    def origin(self) -> str:
        return self.root

    @property
    def base_url(self) -> str:
        return self.origin + self.prefix

    # Test controls -------------------------------------------------------------------------
    def count(self, path: Optional[str] = None) -> int:
        """Requests served, optionally only those whose path (without prefix) starts with ``path``."""
        with self._lock:
            return sum(1 for r in self.requests if path is None or r.path.startswith(path))

    def fail_next(self, status: int, path: Optional[str] = None, times: int = 1,
                  headers: Optional[Dict[str, str]] = None, body: Any = None) -> None:
        """Answer the next ``times`` requests (to ``path`` if given) with ``status``."""
        with self._lock:
            for _ in range(times):
                self._failures.append(_Failure(status, path, dict(headers or {}), body))

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self._failures.clear()

    # Dispatch ---------------------------------------------------------------------------------
    def dispatch(self, method: str, target: str, headers: Dict[str, str], raw: bytes) -> Reply:
        parts = urlsplit(target)
        path = unquote(parts.path)
        if self.prefix and path.startswith(self.prefix):
            path = path[len(self.prefix):] or "/"
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        lowered = {k.lower(): v for k, v in headers.items()}
        body = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
        with self._lock:
            self.requests.append(Recorded(method, path, query, lowered, body))
            served = len(self.requests)
            failure = next((f for f in self._failures if f.path_prefix is None or path.startswith(f.path_prefix)),
                           None)
            if failure is not None:
                self._failures.remove(failure)
        if failure is not None:
            return failure.status, dict(failure.headers), failure.body if failure.body is not None else {
                "error": f"injected {failure.status}"}
        if self.budget is not None and served > self.budget and self.counts_against_budget(path):
            return self.rate_limited()
        try:
            return self.route(method, path, query, lowered, body)
        except Refuse as refuse:
            return refuse.reply

    def counts_against_budget(self, path: str) -> bool:
        return True

    def rate_limited(self) -> Reply:
        return 429, {}, {"error": "Rate limit exceeded"}

    def route(self, method: str, path: str, query: Dict[str, str], headers: Dict[str, str], body: Any) -> Reply:
        raise NotImplementedError


class Refuse(Exception):
    def __init__(self, status: int, body: Any, headers: Optional[Dict[str, str]] = None):
        self.reply: Reply = (status, dict(headers or {}), body)
