"""What every catalog client shares: keys from the environment, the response
cache with conditional requests, the client-side limiter, the project's retry
policy (critpt_harness.http.RetryPolicy), and HTTP failures turned into typed
errors that say what to do.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ClassVar, Dict, List, Mapping, Optional, Type, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationError

from ..http import (HTTPStatusError, RetryAfterTooLong, RetryPolicy, async_client, quota_until, unreachable,
                    server_message)
from ..runs import default_cache_dir
from ..secrets import redact, require_key
from .cache import CacheEntry, ResponseCache, kept_headers, lifetime, no_store
from ..config.catalog import ApiConfig, CatalogConfig
from .errors import (CatalogAuthError, CatalogBadRequest, CatalogError, CatalogNotFound, CatalogQuotaExhausted,
                     CatalogSchemaError, CatalogUnavailable)
from .ratelimit import RateLimiter

log = logging.getLogger(__name__)
M = TypeVar("M", bound="CatalogResponse")
C = TypeVar("C", bound="CatalogClient")


class CatalogModel(BaseModel):
    """Server data: unknown fields are kept, so a new field never breaks a snapshot."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, protected_namespaces=())


@dataclass
class Fetched:
    """One response as received (or as served from the cache)."""

    url: str  # with the query string; never carries a key (keys travel in headers)
    status: int
    text: str
    fetched_at: str  # when the server produced this content for us (ISO 8601, UTC)
    # network | cache (fresh, no request) | revalidated (304) | stale (expired, used after an error)
    origin: str = "network"
    headers: Dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.text)


class CatalogResponse(CatalogModel):
    """A typed reply that remembers the raw JSON and where it came from."""

    _fetches: List[Fetched] = PrivateAttr(default_factory=list)
    _raw: Any = PrivateAttr(default=None)

    @property
    def fetches(self) -> List[Fetched]:
        return self._fetches

    @property
    def raw(self) -> Any:
        """The JSON as the server sent it (pages merged for paginated endpoints)."""
        return self._raw

    def with_source(self: M, raw: Any, fetches: List[Fetched]) -> M:
        self._raw, self._fetches = raw, list(fetches)
        return self


def _dns(exc: Optional[BaseException]) -> bool:
    for _ in range(20):  # the cause chain, bounded
        if exc is None:
            break
        if isinstance(exc, socket.gaierror):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def cache_root(cfg: CatalogConfig) -> Path:
    return Path(cfg.cache_dir).expanduser() if cfg.cache_dir else default_cache_dir() / "catalogs"


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="seconds")


def clean_params(params: Optional[Mapping[str, Any]]) -> Dict[str, str]:
    """Query values as the documents write them: no None, booleans as true/false."""
    out: Dict[str, str] = {}
    for key, value in (params or {}).items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, (list, tuple)):
            value = ",".join(str(v) for v in value)
        out[key] = str(value)
    return out


class CatalogClient:
    """Base of the four clients. Use as ``async with Client(cfg) as c: ...``."""

    api: ClassVar[str] = ""
    title: ClassVar[str] = ""
    attribution: ClassVar[str] = ""
    endpoints: ClassVar[tuple[str, ...]] = ()  # names accepted in catalog.<api>.endpoints
    keyless_endpoints: ClassVar[frozenset[str]] = frozenset()  # of those, the ones needing no key

    def __init__(self, catalog: CatalogConfig, *, api_key: Optional[str] = None,
                 http: Optional[httpx.AsyncClient] = None):
        self.catalog = catalog
        self.cfg: ApiConfig = catalog.apis()[self.api]
        self._api_key = api_key
        root = cache_root(catalog)
        self.cache = ResponseCache(root)
        self.limiter = RateLimiter(self.api, self.cfg.rate_limits, root / "ratelimit" / f"{self.api}.json",
                                   max_wait=catalog.max_limiter_wait)
        r = catalog.retry
        # DNS failures and refused connections fail the API at once (generation keeps retrying them).
        self.retry = RetryPolicy.from_config(r, permanent=unreachable)
        self._http = http
        self._own_http = http is None
        self._open = False
        self.requests_made = 0
        self.notices: List[str] = []
        # Set by a 429 whose quota lasts: no further request goes to this API in this snapshot.
        self.quota_spent: Optional[CatalogQuotaExhausted] = None

    async def __aenter__(self: C) -> C:
        self._open = True
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        self._open = False
        if self._own_http and self._http is not None:
            await self._http.aclose()
            self._http = None

    @property
    def api_key(self) -> Optional[str]:
        """The key, read from the configured variable on first use (keyless endpoints never ask).
        Raises MissingKeyError naming the variable; the snapshot skips the API on it."""
        if self._api_key is None and self.cfg.api_key_env:
            self._api_key = require_key(self.cfg.api_key_env, f"catalog.{self.api}.api_key_env")
        return self._api_key

    # Hooks for the subclasses --------------------------------------------------
    def auth_headers(self) -> Dict[str, str]:
        return {}

    def extra_headers(self) -> Dict[str, str]:
        return {}

    def error_headers(self, response: httpx.Response) -> Dict[str, str]:
        """Headers the retry policy sees for an error (a subclass may add a known wait)."""
        return dict(response.headers)

    # Requests -----------------------------------------------------------------------
    def url(self, path: str, params: Optional[Mapping[str, Any]] = None, base: Optional[str] = None) -> str:
        root = (base if base is not None else self.cfg.base_url).rstrip("/")
        full = root + ("/" + path.lstrip("/") if path else "")
        return str(httpx.URL(full, params=clean_params(params))) if params else full

    async def get(self, path: str, params: Optional[Mapping[str, Any]] = None, *, auth: bool = True,
                  cache: bool = True, base: Optional[str] = None) -> Fetched:
        """GET through the cache: fresh entry -> no request; stale with validators ->
        conditional request; failure with any cached entry -> that entry, with a notice."""
        url = self.url(path, params, base)
        entry = self.cache.get(self.api, url) if cache else None
        if entry is not None and entry.fresh() and not self.catalog.refresh:
            return Fetched(url, entry.status, entry.text, _iso(entry.fetched_at), "cache", entry.headers)
        conditional = entry.validators() if entry is not None else {}
        try:
            response = await self._send("GET", url, auth=auth, headers=conditional)
        except (CatalogQuotaExhausted, CatalogUnavailable) as exc:
            if entry is None or not self.catalog.stale_on_error:
                raise
            self.notices.append(f"{url}: {exc}; using the cached copy from {_iso(entry.fetched_at)}")
            return Fetched(url, entry.status, entry.text, _iso(entry.fetched_at), "stale", entry.headers)
        now = time.time()
        if response.status_code == 304 and entry is not None:
            # Unchanged: keep the body, take the new freshness (and any new validators).
            entry.headers.update(kept_headers(response.headers))
            entry.expires_at = now + lifetime(entry.headers, self.cfg.cache_ttl_seconds)
            self.cache.put(self.api, entry)
            return Fetched(url, entry.status, entry.text, _iso(now), "revalidated", entry.headers)
        headers = kept_headers(response.headers)
        if cache and not no_store(response.headers):
            self.cache.put(self.api, CacheEntry(url, response.status_code, response.text, headers, now,
                                                now + lifetime(headers, self.cfg.cache_ttl_seconds)))
        return Fetched(url, response.status_code, response.text, _iso(now), "network", headers)

    async def post(self, path: str, body: Mapping[str, Any], *, auth: bool = True) -> Fetched:
        """POST (never cached: the documented POSTs write or compute per request)."""
        url = self.url(path)
        response = await self._send("POST", url, auth=auth, json_body=dict(body))
        return Fetched(url, response.status_code, response.text, _iso(time.time()), "network",
                       kept_headers(response.headers))

    async def _send(self, method: str, url: str, *, auth: bool, headers: Optional[Dict[str, str]] = None,
                    json_body: Optional[Dict[str, Any]] = None) -> httpx.Response:
        if not self._open:
            raise RuntimeError(f"use `async with {type(self).__name__}(...)` before making requests")
        if self.quota_spent is not None:
            earlier = str(self.quota_spent).split(": ", 1)[-1]
            raise CatalogQuotaExhausted(self.api, f"not asked, after an earlier {earlier}", until=self.quota_spent.until)
        if self._http is None:
            # Opened on first use: a snapshot served from the cache never builds a connection pool.
            self._http = async_client(timeout=self.cfg.timeout)
        http = self._http
        all_headers = {**self.extra_headers(), **(self.auth_headers() if auth else {}), **(headers or {})}

        async def once() -> httpx.Response:
            await self.limiter.acquire()  # every attempt is a request the provider counts
            self.requests_made += 1
            response = await http.request(method, url, headers=all_headers, json=json_body)
            if response.status_code >= 400:
                raise HTTPStatusError(response.status_code, self.error_headers(response), response.text, url)
            return response

        def on_retry(attempt: int, exc: BaseException, wait: float) -> None:
            log.info("%s: attempt %d failed (%s); retrying in %.1fs", self.api, attempt, redact(str(exc))[:200], wait)

        try:
            response, _ = await self.retry.call(once, on_retry=on_retry)
        except (HTTPStatusError, RetryAfterTooLong, httpx.TransportError) as exc:
            error = self.explain(exc, url)
            if isinstance(error, CatalogQuotaExhausted):
                self.quota_spent = error
            raise error from exc
        return response

    def explain(self, exc: BaseException, url: str) -> CatalogError:
        """An HTTP failure as the typed error a user can act on."""
        api = self.api
        if isinstance(exc, RetryAfterTooLong):
            exc = exc.cause  # type: ignore[assignment]
        if isinstance(exc, httpx.TransportError) and unreachable(exc):
            why = "name does not resolve" if "not known" in str(exc) or _dns(exc) else "connection refused"
            return CatalogUnavailable(api, f"cannot reach {self.cfg.base_url} ({why}; not retried). Check "
                                           f"catalog.{api}.base_url and your network, or set "
                                           f"catalog.{api}.enabled=false.")
        if isinstance(exc, httpx.TransportError):
            return CatalogUnavailable(api, f"could not reach {url} ({type(exc).__name__}: {exc}). Check "
                                           f"catalog.{api}.base_url and your network, then try again.")
        assert isinstance(exc, HTTPStatusError)
        status, message = exc.status_code, server_message(exc.body)
        where = f"HTTP {status} from {url}" + (f": {message}" if message else "")
        if status == 429:
            until = quota_until(exc.headers, exc.body)
            when = f"until {until:%Y-%m-%d %H:%M:%S} UTC" if until else "for now (the server did not say until when)"
            return CatalogQuotaExhausted(api, f"rate limit reached ({where}); no more requests {when}. Cached "
                                              f"data is used where it exists; run again later.", until=until)
        if status in (401, 403):
            key = f"the key in ${self.cfg.api_key_env} (catalog.{api}.api_key_env)" if self.cfg.api_key_env \
                else "this request"
            what = "was refused" if status == 401 else "has no access to this endpoint"
            return CatalogAuthError(api, f"{key} {what} ({where}). Check the key, or set "
                                         f"catalog.{api}.enabled=false to skip this catalog.")
        if status == 404:
            return CatalogNotFound(api, f"not found ({where}). Check the id, slug or category.")
        if status == 400:
            return CatalogBadRequest(api, f"the server rejected the request ({where}).")
        if 400 <= status < 500:  # not documented for this API; retrying the same request will not help
            return CatalogBadRequest(api, f"the server refused the request with an undocumented status ({where}). "
                                          f"Check catalog.{api}.base_url and catalog.{api}.endpoints; the provider "
                                          f"may have changed its API (or set catalog.{api}.enabled=false).")
        return CatalogUnavailable(api, f"the server kept failing ({where}); try again later.")

    async def fetch(self, endpoint: str) -> List[tuple[str, "CatalogResponse"]]:
        """The snapshot's files for one configured endpoint: [(file name, reply)]; each client's own."""
        raise NotImplementedError

    def parse(self, model: Type[M], fetched: Fetched) -> M:
        try:
            raw = fetched.json()
        except ValueError as exc:
            raise CatalogSchemaError(self.api, f"{fetched.url} did not return JSON ({exc}): "
                                               f"{fetched.text[:200]!r}", fetched.text, [fetched]) from exc
        return self.validate(model, raw, [fetched])

    def validate(self, model: Type[M], raw: Any, fetches: List[Fetched]) -> M:
        try:
            return model.model_validate(raw).with_source(raw, fetches)
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"])
            url = fetches[0].url if fetches else self.cfg.base_url
            raise CatalogSchemaError(self.api, f"{url} does not have the documented shape ({exc.error_count()} "
                                               f"problems; first at {loc or 'top level'}: {first['msg']}). The "
                                               "provider may have changed its API.", raw, fetches) from exc

    def reject(self, message: str) -> CatalogBadRequest:
        return CatalogBadRequest(self.api, message)
