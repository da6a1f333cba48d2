"""httpcore's network I/O on asyncio's own transports, for the model clients' connection pools.

httpcore's default backend goes through anyio, whose every send and receive first yields to the
event loop (a checkpoint) and wraps itself in a cancel scope for its timeout. With hundreds of
requests in flight each of those yields sends the request to the back of the queue of ready tasks:
replies that arrive together are answered together, in bursts, and each request spent ~20 ms in the
queue (benchmarks/generation_throughput.py). Here a read of bytes already received and a write the
socket takes at once return without yielding; a timeout is one timer on the loop.

The httpcore module (httpcore, or httpcore2 under later openai SDKs) is passed in, so the errors
raised are the ones its httpx maps to its own (ReadTimeout, ConnectError, ...).
"""

from __future__ import annotations

import asyncio
import errno
import re
import select
import ssl
import sys
from collections import deque
from types import ModuleType
from typing import Any, Awaitable, Deque, Iterable, Optional, Tuple, TypeVar

T = TypeVar("T")
READ_LIMIT = 256 * 1024  # bytes held before the socket stops being read (flow control)


class _Protocol(asyncio.Protocol):
    """What arrived on one connection, and who waits for it."""

    def __init__(self) -> None:
        self.transport: Optional[asyncio.Transport] = None
        self.chunks: Deque[bytes] = deque()
        self.held = 0
        self.eof = False
        self.error: Optional[BaseException] = None
        self.waiter: Optional[asyncio.Future] = None  # a read waiting for data
        self.drained: Optional[asyncio.Future] = None  # a write waiting for the socket to take more
        self.paused = False  # writing paused by the transport
        self.reading = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.chunks.append(data)
        self.held += len(data)
        if self.held > READ_LIMIT and self.reading and self.transport is not None:
            self.transport.pause_reading()
            self.reading = False
        self._wake("waiter")

    def eof_received(self) -> bool:
        self.eof = True
        self._wake("waiter")
        return False  # the transport closes itself

    def connection_lost(self, exc: Optional[BaseException]) -> None:
        self.eof = True
        self.error = exc
        self._wake("waiter")
        self._wake("drained")

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        self._wake("drained")

    def _wake(self, name: str) -> None:
        future = getattr(self, name)
        if future is not None:
            setattr(self, name, None)
            if not future.done():
                future.set_result(None)


# httpcore's names for what it asks of a stream -> asyncio's
_EXTRA_INFO = {"ssl_object": "ssl_object", "client_addr": "sockname", "server_addr": "peername", "socket": "socket"}
_NO_LIMIT = 24 * 3600.0  # for asyncio's own TLS handshake limit (60 s by default): the caller's timeout governs


def _readable(transport: asyncio.BaseTransport) -> bool:
    """Whether the socket has something to read now (no socket: as if closed)."""
    sock = transport.get_extra_info("socket")
    if sock is None or sock.fileno() < 0:
        return True
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(sock.fileno(), select.POLLIN)
        return bool(poller.poll(0))
    return bool(select.select([sock.fileno()], [], [], 0)[0])  # pragma: no cover - Windows


def _connect_error(exc: OSError) -> str:
    """What a failed connect says. asyncio reports a host whose every address refused as one OSError
    without an errno ("Multiple exceptions: [Errno 111] ..., [Errno 111] ..."): said as the refusal it
    is, in the words failures.unreachable knows (httpcore's pool drops the exception's cause)."""
    codes = re.findall(r"\[Errno (\d+)\]", str(exc))
    if exc.errno is None and codes and all(int(c) == errno.ECONNREFUSED for c in codes):
        return f"Connection refused at every address ({exc})"
    return str(exc)


async def within(awaitable: Awaitable[T], seconds: Optional[float]) -> T:
    """``await awaitable`` under a time limit: TimeoutError past it (None: no limit). asyncio.timeout
    where there is one (3.11+): asyncio.wait_for before 3.12 can swallow a cancellation, Ctrl-C's, that
    arrives as the awaited call completes, and the command then goes on as if nothing was pressed."""
    if hasattr(asyncio, "timeout"):
        async with asyncio.timeout(seconds):
            return await awaitable
    return await asyncio.wait_for(awaitable, seconds)  # pragma: no cover - Python 3.10


def _expire(future: asyncio.Future) -> None:
    if not future.done():
        future.set_exception(TimeoutError())


async def _wait(future: asyncio.Future, timeout: Optional[float]) -> None:
    """Await ``future``; TimeoutError after ``timeout`` seconds (None: no limit)."""
    if timeout is None:
        await future
        return
    timer = asyncio.get_running_loop().call_later(timeout, _expire, future)
    try:
        await future
    finally:
        timer.cancel()


class Stream:
    """One connection, as httpcore's AsyncNetworkStream. Its transport is the protocol's: one
    reference, the TLS one once the handshake is done (pausing and resuming must agree)."""

    def __init__(self, core: ModuleType, protocol: _Protocol):
        self._core, self._protocol = core, protocol

    @property
    def _transport(self) -> asyncio.Transport:
        assert self._protocol.transport is not None  # set by connection_made, before the stream exists
        return self._protocol.transport

    async def read(self, max_bytes: int, timeout: Optional[float] = None) -> bytes:
        p = self._protocol
        if not p.chunks and not p.eof:
            p.waiter = asyncio.get_running_loop().create_future()
            try:
                await _wait(p.waiter, timeout)
            except TimeoutError:  # the builtin, set by _expire
                raise self._core.ReadTimeout(f"no data in {timeout} s") from None
        if p.chunks:
            data = p.chunks.popleft()
            if len(data) > max_bytes:
                data, rest = data[:max_bytes], data[max_bytes:]
                p.chunks.appendleft(rest)
            p.held -= len(data)
            if not p.reading and p.held <= READ_LIMIT // 2:
                p.reading = True
                self._transport.resume_reading()
            return data
        if p.error is not None:
            raise self._core.ReadError(str(p.error) or type(p.error).__name__)
        return b""

    async def write(self, buffer: bytes, timeout: Optional[float] = None) -> None:
        if not buffer:
            return
        p = self._protocol
        if p.error is not None or self._transport.is_closing():
            raise self._core.WriteError(str(p.error or "the connection is closed"))
        self._transport.write(buffer)
        if p.paused:
            p.drained = asyncio.get_running_loop().create_future()
            try:
                await _wait(p.drained, timeout)
            except TimeoutError:
                raise self._core.WriteTimeout(f"the socket took nothing for {timeout} s") from None
            if p.error is not None:
                raise self._core.WriteError(str(p.error))

    async def aclose(self) -> None:
        # As anyio: at once. close() would keep the socket until a server that stopped reading took
        # the rest of an upload, or, over TLS, until it answered the close_notify.
        self._transport.abort()

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: Optional[str] = None,
                        timeout: Optional[float] = None) -> "Stream":
        loop = asyncio.get_running_loop()
        try:  # the connect timeout, as a timeout (asyncio's own ends the handshake as an OSError)
            transport = await within(loop.start_tls(
                self._transport, self._protocol, ssl_context, server_hostname=server_hostname,
                ssl_handshake_timeout=_NO_LIMIT), timeout)
        except (TimeoutError, asyncio.TimeoutError):
            self._transport.abort()
            raise self._core.ConnectTimeout(f"TLS handshake took over {timeout} s") from None
        except (OSError, ssl.SSLError) as exc:
            self._transport.abort()
            raise self._core.ConnectError(str(exc)) from exc
        if transport is None:
            raise self._core.ConnectError("the connection closed during the TLS handshake")
        # Reading is paused and resumed through the TLS layer from now on: resuming it does
        # nothing for a socket paused beneath it (a large reply would then wait for ever).
        self._protocol.transport = transport  # type: ignore[assignment]
        return Stream(self._core, self._protocol)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":  # asked of an idle connection: the server closed it, or sent stray bytes
            # what the loop has not read yet counts too: a FIN or an RST still in the kernel
            return bool(self._protocol.chunks) or self._protocol.eof or _readable(self._transport)
        name = _EXTRA_INFO.get(info)
        return self._transport.get_extra_info(name) if name else None


class Backend:
    """httpcore's AsyncNetworkBackend on asyncio transports."""

    def __init__(self, core: ModuleType):
        self._core = core

    async def _connect(self, connect: Any, timeout: Optional[float],
                       socket_options: Optional[Iterable[Tuple[Any, ...]]]) -> Stream:
        try:
            transport, protocol = await within(connect(), timeout)
        except (TimeoutError, asyncio.TimeoutError):  # the same class from Python 3.11
            raise self._core.ConnectTimeout(f"no connection in {timeout} s") from None
        except OSError as exc:
            raise self._core.ConnectError(_connect_error(exc)) from exc
        sock = transport.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)
        return Stream(self._core, protocol)

    async def connect_tcp(self, host: str, port: int, timeout: Optional[float] = None,
                          local_address: Optional[str] = None,
                          socket_options: Optional[Iterable[Tuple[Any, ...]]] = None) -> Stream:
        loop = asyncio.get_running_loop()
        local = (local_address, 0) if local_address else None

        def connect() -> Any:
            if isinstance(loop, asyncio.BaseEventLoop):  # IPv6 and IPv4 raced as anyio does (RFC 8305)
                return loop.create_connection(_Protocol, host, port, local_addr=local, happy_eyeballs_delay=0.25)
            return loop.create_connection(_Protocol, host, port, local_addr=local)  # a loop without it (uvloop)

        return await self._connect(connect, timeout, socket_options)

    async def connect_unix_socket(self, path: str, timeout: Optional[float] = None,
                                  socket_options: Optional[Iterable[Tuple[Any, ...]]] = None) -> Stream:
        loop = asyncio.get_running_loop()
        return await self._connect(lambda: loop.create_unix_connection(_Protocol, path), timeout, socket_options)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def use_asyncio(transport: Any) -> bool:
    """Give an httpx AsyncHTTPTransport's connection pool this backend; False (and nothing changed)
    when its pool is not one that takes a network backend (a proxy's, or a newer httpx's layout)."""
    pool: Any = getattr(transport, "_pool", None)
    core = sys.modules.get(type(pool).__module__.partition(".")[0])
    if core is None or not core.__name__.startswith("httpcore") or type(pool) is not getattr(
            core, "AsyncConnectionPool", None) or not hasattr(pool, "_network_backend"):
        return False
    pool._network_backend = Backend(core)
    return True
