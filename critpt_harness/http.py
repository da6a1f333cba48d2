"""The HTTP client every download uses: timeouts, user agent, the offline switch, and a GET
through the retry policy (:mod:`.retry`; failures are typed in :mod:`.failures`); and the
transport of the model clients (the openai SDK's client over small connection pools).
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Tuple

from .failures import HTTPStatusError
from .retry import RetryPolicy

if TYPE_CHECKING:
    import httpx

OFFLINE_ENV = "CRITPT_HARNESS_OFFLINE"


def offline() -> bool:
    """CRITPT_HARNESS_OFFLINE=1: download nothing from hosts other than this machine."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def user_agent() -> str:
    """critpt-harness/<version> (the version is looked up on first use, not at import)."""
    from . import __version__

    return f"critpt-harness/{__version__}"


def async_client(timeout: float = 60.0, connect_timeout: float = 15.0, **kwargs: Any) -> "httpx.AsyncClient":
    """An httpx client with the harness defaults (timeouts, user agent). httpx is imported here,
    on the first download: a run on a local set with cached prompts never loads it."""
    import httpx

    headers = {"User-Agent": user_agent(), **kwargs.pop("headers", {})}
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=connect_timeout),
        headers=headers,
        follow_redirects=True,
        **kwargs,
    )


# Connections per pool in a model client's transport (see ShardedTransport).
POOL_SIZE = 8


class ShardedTransport:
    """An httpx transport made of connection pools of at most POOL_SIZE connections, each request
    sent through the least busy one (a new pool when all are full). httpcore's pool walks every
    connection it holds on each request and on each response's close: at concurrency 200 that was
    half the client's CPU. A request counts as busy until its response is closed. Pools are made
    per URL scheme (``make_pool(scheme)``): plain http needs no TLS context."""

    def __init__(self, make_pool: Callable[[str], Any], max_pools: int = 64):
        self._make_pool = make_pool
        self._max_pools = max_pools
        self._pools: Dict[str, List[Any]] = {}
        self._busy: Dict[str, List[int]] = {}

    @property
    def transports(self) -> List[Any]:
        return [pool for pools in self._pools.values() for pool in pools]

    @property
    def pools(self) -> int:
        return len(self.transports)

    @property
    def busy(self) -> int:
        """Requests whose response is not closed yet."""
        return sum(sum(busy) for busy in self._busy.values())

    def _pick(self, scheme: str) -> Tuple[List[Any], List[int], int]:
        pools, busy = self._pools.setdefault(scheme, []), self._busy.setdefault(scheme, [])
        i = min(range(len(busy)), key=busy.__getitem__) if busy else -1
        if i < 0 or (busy[i] >= POOL_SIZE and len(pools) < self._max_pools):
            pools.append(self._make_pool(scheme))
            busy.append(0)
            i = len(pools) - 1
        return pools, busy, i

    async def handle_async_request(self, request: Any) -> Any:
        pools, busy, i = self._pick(request.url.scheme)
        busy[i] += 1
        done = False

        def release() -> None:
            nonlocal done
            if not done:
                done = True
                busy[i] -= 1

        try:
            response = await pools[i].handle_async_request(request)
        except BaseException:
            release()
            raise
        stream = response.stream
        close = stream.aclose

        async def aclose() -> None:
            try:
                await close()
            finally:
                release()
                stream.__dict__.pop("aclose", None)  # no stream -> aclose -> stream cycle for the collector

        stream.aclose = aclose  # the client closes the stream once the body is read
        return response

    async def aclose(self) -> None:
        for pool in self.transports:
            await pool.aclose()

    async def __aenter__(self) -> "ShardedTransport":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()


def sdk_http_client(openai: Any, **kwargs: Any) -> Any:
    """The openai SDK's own HTTP client (its defaults) over a ShardedTransport whose pools do their I/O
    on asyncio's transports (:mod:`.netio`), built from the httpx the SDK uses (httpx, or httpx2 in
    later SDKs). One TLS context (~30-50 ms to load the CA certificates) serves every https pool and
    is made with the first; plain http pools get one that refuses any TLS (none is ever asked of them).

    Where the environment names a proxy (HTTPS_PROXY, ALL_PROXY, ...), the SDK's client as it comes:
    httpx reads those variables only when it builds its own transport."""
    import ssl
    from urllib.request import getproxies  # what httpx reads them with

    if any(scheme != "no" for scheme in getproxies()):  # NO_PROXY alone names no proxy
        return openai.DefaultAsyncHttpxClient(**kwargs)
    from .netio import use_asyncio

    base = next(c for c in openai.DefaultAsyncHttpxClient.__mro__ if c.__module__.partition(".")[0] != "openai")
    http = sys.modules[base.__module__.partition(".")[0]]
    limits = http.Limits(max_connections=POOL_SIZE, max_keepalive_connections=POOL_SIZE)
    contexts: Dict[str, Any] = {}

    def pool(scheme: str) -> Any:
        if scheme not in contexts:  # verifying, with no certificate trusted: fails closed if ever used
            contexts[scheme] = http.create_ssl_context() if scheme == "https" else ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        transport = http.AsyncHTTPTransport(verify=contexts[scheme], limits=limits)
        use_asyncio(transport)
        return transport

    return openai.DefaultAsyncHttpxClient(transport=ShardedTransport(pool), **kwargs)


async def get_bytes(client: "httpx.AsyncClient", url: str, policy: RetryPolicy) -> bytes:
    """GET a URL with the retry policy; non-2xx becomes :class:`HTTPStatusError`."""

    async def once() -> bytes:
        response = await client.get(url)
        if response.status_code >= 400:
            raise HTTPStatusError(response.status_code, response.headers, response.text, url)
        return response.content

    content, _ = await policy.call(once)
    return content
