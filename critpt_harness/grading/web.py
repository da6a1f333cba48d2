"""The grading server's web stack: a Starlette app for the evaluate contract
(contract.py), served by uvicorn in a background thread.

``BackgroundServer`` is the runner (also used by the tests' fake servers): one
event loop in one thread serves every connection, so a slow grading or a fixed
latency costs no thread per request.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Dict, List, Optional
from urllib.parse import parse_qs

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from .contract import Answer, EvaluateCall, EvaluateContract, answer

ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@dataclass
class Request:
    """A request as served (kept for tests and for ``requests``)."""

    method: str
    path: str  # as sent (not percent-decoded)
    query: Dict[str, List[str]]
    headers: Dict[str, str]  # lower-cased names
    body: bytes
    at: float = field(default_factory=time.monotonic)
    target: str = ""  # the raw request target: path and query string

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    @classmethod
    async def read(cls, request: StarletteRequest) -> "Request":
        scope = request.scope
        query = scope["query_string"].decode("latin-1")
        raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        return cls(scope["method"], raw_path, parse_qs(query), headers, await request.body(),
                   target=raw_path + ("?" + query if query else ""))


def catch_all(endpoint: Any) -> Starlette:
    """A Starlette app sending every method and path to ``endpoint``."""
    return Starlette(routes=[Route("/{path:path}", endpoint, methods=ALL_METHODS)])


class BackgroundServer:
    """Serves ``self.app`` (an ASGI app) with uvicorn on a loopback port (``start``) or
    where configured (``start_at``), in a daemon thread, until ``stop``."""

    app: Any
    thread_name = "critpt-http-server"
    keep_alive_s = 60  # idle connections are kept this long (clients pool them)

    def __init__(self) -> None:
        self._server: Optional[uvicorn.Server] = None
        self._thread: Optional[threading.Thread] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._host = "127.0.0.1"
        self._port = 0
        self._stopping = False
        self._task: Optional[asyncio.Task] = None

    def start(self, port: int = 0) -> Any:
        return self.start_at("127.0.0.1", port)

    def start_at(self, host: str, port: int) -> Any:
        """Listen on ``host:port`` (port 0 = any free one); returns once it accepts connections.
        OSError if it cannot listen there."""
        # The protocol from getaddrinfo matters: asyncio turns Nagle off (TCP_NODELAY) only on sockets
        # that say IPPROTO_TCP, and with Nagle on a reply written in two parts waits for a delayed ACK.
        family, kind, proto, _, address = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            sock.listen(1024)
        except OSError:
            sock.close()
            raise
        self._host, self._port = host, sock.getsockname()[1]
        # log_config=None: uvicorn leaves the process's logging alone (its errors still reach stderr)
        config = uvicorn.Config(self._asgi, interface="asgi3", loop="asyncio", http="h11", ws="none",
                                lifespan="off", proxy_headers=False, log_config=None, log_level="warning",
                                access_log=False, server_header=False, timeout_keep_alive=self.keep_alive_s)
        ready = threading.Event()
        self._server = server = _Server(config, ready)
        self._stopping = False

        def serve() -> None:
            self._loop = loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._task = loop.create_task(server.serve(sockets=[sock]))
            try:
                loop.run_until_complete(self._task)
            except (asyncio.CancelledError, SystemExit):  # stopped, or uvicorn could not start
                pass
            finally:
                _cancel_all(loop)
                loop.close()
                ready.set()

        self._thread = threading.Thread(target=serve, name=self.thread_name, daemon=True)
        self._thread.start()
        ready.wait(30)
        if not server.started:
            self.stop()
            raise OSError(f"the server on {host}:{port} did not start")
        return self

    def stop(self) -> None:
        """Stop at once: requests still in flight are cut off (their connections closed)."""
        server, loop, thread = self._server, self._loop, self._thread
        if server is None or loop is None or thread is None:
            return
        self._stopping = True

        def cut() -> None:
            for listener in getattr(server, "servers", []):
                listener.close()
            for connection in list(server.server_state.connections):
                connection.transport.close()
            if self._task is not None:
                self._task.cancel()

        try:
            loop.call_soon_threadsafe(cut)
        except RuntimeError:  # the loop has already ended
            pass
        thread.join(10)
        self._server = self._loop = self._thread = None

    async def _asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        except asyncio.CancelledError:
            if not self._stopping:
                raise
            # cut off by stop(): not the app's error, nothing to log

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def root(self) -> str:
        assert self._port, "start() the server first"
        host = "127.0.0.1" if self._host in ("", "0.0.0.0") else "[::1]" if self._host == "::" else self._host
        host = f"[{host}]" if ":" in host and not host.startswith("[") else host
        return f"http://{host}:{self._port}"


class _Server(uvicorn.Server):
    """Says when it listens."""

    def __init__(self, config: uvicorn.Config, ready: threading.Event):
        super().__init__(config)
        self.ready = ready

    async def startup(self, sockets: Optional[List[socket.socket]] = None) -> None:
        await super().startup(sockets)
        self.ready.set()


def _cancel_all(loop: asyncio.AbstractEventLoop) -> None:
    tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))


def headers_with_type(content_type: str, headers: Dict[str, str]) -> Dict[str, str]:
    """``headers`` with a Content-Type, ``content_type`` unless they name one."""
    named = any(k.lower() == "content-type" for k in headers)
    return dict(headers) if named else {"Content-Type": content_type, **headers}


async def paced(chunks: List[bytes], pause: float = 0.0) -> AsyncIterator[bytes]:
    """The chunks of a streamed body, paced against the clock: chunk n goes out at ``n * pause``
    and the body ends with the last one, so the whole body takes ``len(chunks) * pause`` however
    busy the loop is (each sleep's lateness would otherwise add up)."""
    start = time.monotonic()
    for n, chunk in enumerate(chunks, 1):
        if pause:
            await asyncio.sleep(max(0.0, start + n * pause - time.monotonic()))
        yield chunk


def to_response(reply: Answer) -> Response:
    """An answer as a Starlette response: JSON, or NDJSON sent line by line."""
    if reply.events is not None:
        lines = [(json.dumps(e) + "\n").encode() for e in reply.events]
        return StreamingResponse(paced(lines), status_code=reply.status,
                                 headers=headers_with_type("application/x-ndjson", reply.headers))
    return Response(json.dumps(reply.body).encode(), status_code=reply.status,
                    headers=headers_with_type("application/json", reply.headers))


def evaluate_app(contract: EvaluateContract, requests: Optional[List[Request]] = None) -> Starlette:
    """The evaluate endpoint over ``contract``; every request is appended to ``requests`` if given."""

    async def endpoint(request: StarletteRequest) -> Response:
        req = await Request.read(request)
        if requests is not None:
            requests.append(req)
        return to_response(await answer(contract, evaluate_call(req)))

    return catch_all(endpoint)


def evaluate_call(req: Request) -> EvaluateCall:
    return EvaluateCall(method=req.method, path=req.path, api_key=req.headers.get("x-api-key"), body=req.body,
                        stream_progress=req.query.get("stream_progress") == ["true"])
