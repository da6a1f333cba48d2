"""The base of the fake servers: every request recorded, faults injected before the
reply, replies as JSON, raw bytes, NDJSON or server-sent events (paced)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Deque, Dict, List, Optional

from starlette.requests import Request as StarletteRequest
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive

from critpt_harness.grading.web import BackgroundServer, Request, catch_all, headers_with_type, paced

__all__ = ["Fault", "FakeServer", "Reply", "Request", "json_reply"]


@dataclass
class Fault:
    """What the server does instead of answering normally, once."""

    status: int = 500
    headers: Dict[str, str] = field(default_factory=dict)
    body: Any = None
    drop: bool = False  # close the connection without a reply
    delay: float = 0.0

    @classmethod
    def dropped(cls) -> "Fault":
        return cls(drop=True)


@dataclass
class Reply:
    """A response: a JSON body, or an NDJSON stream sent line by line."""

    status: int = 200
    payload: Any = None
    headers: Dict[str, str] = field(default_factory=dict)
    lines: Optional[List[Any]] = None
    pause: float = 0.0  # between streamed lines (NDJSON or server-sent events)
    events: Optional[List[Any]] = None  # server-sent events: a dict is a data line, a str a comment (keep-alive)
    done_marker: bool = True  # end the events with `data: [DONE]` (Chat Completions does)
    raw: Optional[bytes] = None
    content_type: str = "application/json"


def json_reply(status: int, payload: Any, headers: Optional[Dict[str, str]] = None) -> Reply:
    return Reply(status=status, payload=payload, headers=headers or {})


class FakeServer(BackgroundServer):
    """Base: records requests, takes injected faults, counts requests in flight;
    subclasses implement :meth:`respond`."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: List[Request] = []
        self.keep_requests = True  # False: nothing reads them (a benchmark's thousands of bodies would pile up)
        self.faults: Deque[Fault] = deque()
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self.app = catch_all(self._endpoint)

    # fault injection and bookkeeping
    def inject(self, *faults: Fault) -> None:
        with self._lock:
            self.faults.extend(faults)

    def _take_fault(self, req: Request) -> Optional[Fault]:
        with self._lock:
            if self.keep_requests:
                self.requests.append(req)
            return self.faults.popleft() if self.faults else None

    async def respond(self, req: Request) -> Reply:  # pragma: no cover - overridden
        return json_reply(404, {"error": "not found"})

    async def _endpoint(self, request: StarletteRequest) -> Response:
        req = await Request.read(request)
        fault = self._take_fault(req)
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.drop:
                await _drop_connection(request.receive)
                return Response(status_code=500)  # not sent: the connection is gone
            return to_response(json_reply(fault.status, fault.body if fault.body is not None
                                          else {"error": "injected fault"}, fault.headers))
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            reply = await self.respond(req)
        finally:
            with self._lock:
                self.in_flight -= 1
        return to_response(reply)


async def _drop_connection(receive: Receive) -> None:
    """Close the connection without a byte of reply. ASGI has no word for that: uvicorn's
    request cycle, whose bound method ``receive`` is, holds the connection's transport."""
    transport = getattr(getattr(receive, "__self__", None), "transport", None)
    if transport is None:
        raise RuntimeError("cannot drop the connection: the server is not uvicorn's")
    transport.close()
    while (await receive())["type"] != "http.disconnect":  # returns once the connection is gone
        pass


def to_response(reply: Reply) -> Response:
    if reply.events is not None:
        frames = [f": {e}\n\n" if isinstance(e, str) else f"data: {json.dumps(e)}\n\n" for e in reply.events]
        frames += ["data: [DONE]\n\n"] if reply.done_marker else []
        return StreamingResponse(paced([f.encode() for f in frames], reply.pause), status_code=reply.status,
                                 headers=headers_with_type("text/event-stream", reply.headers))
    if reply.lines is not None:
        lines = [(json.dumps(line) + "\n").encode() for line in reply.lines]
        return StreamingResponse(paced(lines, reply.pause), status_code=reply.status,
                                 headers=headers_with_type("application/x-ndjson", reply.headers))
    if reply.status in (204, 304):  # no body allowed
        return Response(status_code=reply.status, headers=reply.headers)
    data = reply.raw if reply.raw is not None else json.dumps(reply.payload).encode()
    return Response(data, status_code=reply.status, headers=headers_with_type(reply.content_type, reply.headers))
