"""The one catalog client: keys from the environment, the response cache with
conditional requests, the client-side limiter, the project's retry policy
(critpt_harness.retry.RetryPolicy), HTTP failures turned into typed errors that say
what to do, and the request for any ``Endpoint`` of an API's table. Each API's
client (a subclass) lists its endpoints, its snapshot files and the readers of
its stored files; nothing here names an API.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ClassVar, Dict, List, Mapping, Optional, Tuple, Type, TypeVar
from urllib.parse import urlsplit

import httpx
from pydantic import ValidationError

from ..failures import HTTPStatusError, RetryAfterTooLong, unreachable
from ..http import async_client
from ..retry import RetryPolicy
from ..secrets import redact, require_key
from .cache import CacheEntry, ResponseCache, kept_headers, lifetime, no_store
from ..config.catalog import ApiConfig, CatalogConfig
from .endpoints import Endpoint, Snap, follow_pages
from .replies import M, CatalogResponse, Fetched
from .errors import CatalogBadRequest, CatalogQuotaExhausted, CatalogSchemaError, CatalogUnavailable, explain
from .ratelimit import RateLimiter
from .stored import Candidate, CatalogPrice, ContextMetric, PublishedScore, SnapshotFiles

log = logging.getLogger(__name__)
C = TypeVar("C", bound="CatalogClient")


def cache_root(cfg: CatalogConfig) -> Path:
    from ..runs import default_cache_dir

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
    """Base of every catalog client. Use as ``async with Client(cfg) as c: ...``."""

    api: ClassVar[str] = ""  # the config section, catalog.<api>
    title: ClassVar[str] = ""
    attribution: ClassVar[str] = ""  # what the provider asks for when its data is shown
    # The key's header and how the key is written into it ("Bearer {}"); None = no key.
    key_header: ClassVar[Optional[Tuple[str, str]]] = None
    # {name accepted in catalog.<api>.endpoints: what it writes into the snapshot}
    snapshot_files: ClassVar[Dict[str, Snap]] = {}
    searches: ClassVar[bool] = False  # lookup() offers a fuzzy search for matching

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
        self._once: Dict[str, Any] = {}  # replies of the endpoints asked once per client

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

    @classmethod
    def endpoints(cls) -> Tuple[str, ...]:
        return tuple(cls.snapshot_files)

    @classmethod
    def keyless(cls, endpoint: str) -> bool:
        """True when a snapshot endpoint needs no key (its request is sent without one)."""
        snap = cls.snapshot_files.get(endpoint)
        call = getattr(cls, snap.call, None) if snap else None
        return isinstance(call, Endpoint) and not call.auth

    # Hooks for the subclasses --------------------------------------------------
    def auth_headers(self) -> Dict[str, str]:
        if self.key_header is None:
            return {}
        name, form = self.key_header
        return {name: form.format(self.api_key or "")}

    def root_url(self) -> str:
        """Where ``root`` endpoints live: the scheme and host of base_url."""
        parts = urlsplit(self.cfg.base_url)
        return f"{parts.scheme}://{parts.netloc}"

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
            error = explain(self.api, self.cfg, exc, url)
            if isinstance(error, CatalogQuotaExhausted):
                self.quota_spent = error
            raise error from exc
        return response

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

    def checked(self, name: str, value: Any, check: Any) -> Any:
        """A documented rule (endpoints.one_of, in_range ...) applied to an argument, before any request."""
        try:
            return check(name, value)
        except ValueError as exc:
            raise self.reject(str(exc)) from None

    # Endpoints of the table ---------------------------------------------------------
    async def request(self, endpoint: Endpoint[M], *args: Any, **kwargs: Any) -> M:
        """One call of a table's endpoint: arguments checked, then sent, cached and parsed."""
        max_items = kwargs.pop("max_items", None) if endpoint.pages else None
        try:
            path, values = endpoint.bind(args, kwargs)
        except ValueError as exc:
            raise self.reject(str(exc)) from None
        key = self.url(path, values)
        if endpoint.once and key in self._once:
            return self._once[key]
        if endpoint.pages:
            reply = await follow_pages(self, endpoint, path, values, max_items)
        elif endpoint.method == "POST":
            reply = self.parse(endpoint.response, await self.post(path, values, auth=endpoint.auth))
        else:
            base = self.root_url() if endpoint.root else None
            reply = self.parse(endpoint.response, await self.get(path, values, auth=endpoint.auth, base=base))
        if endpoint.once:
            self._once[key] = reply
        return reply

    # The snapshot ----------------------------------------------------------------------
    async def fetch(self, endpoint: str) -> List[Tuple[str, "CatalogResponse"]]:
        """The snapshot's files for one configured endpoint: [(file name, reply)]."""
        snap = self.snapshot_files[endpoint]
        call = getattr(self, snap.call)
        if not snap.each:
            return [(snap.file or endpoint, await call(**dict(snap.args)))]
        return [(snap.file.format(part), await call(**dict(snap.args), **kwargs))
                for part, kwargs in await getattr(self, snap.each)(endpoint)]

    def provider_attribution(self, response: "CatalogResponse") -> Any:
        """Attribution the reply itself carries (stored beside ours in the snapshot)."""
        raw = response.raw
        return raw.get("attribution") if isinstance(raw, dict) else None

    async def lookup(self, query: str) -> List[Candidate]:
        """Entries a fuzzy search finds for ``query``, best first (only where ``searches``)."""
        return []

    # Readers of a stored snapshot (no request) ------------------------------------------
    @classmethod
    def candidates(cls, snap: SnapshotFiles) -> List[Candidate]:
        """The entries a run's model may be matched to."""
        return []

    @classmethod
    def published_scores(cls, snap: SnapshotFiles) -> List[PublishedScore]:
        return []

    @classmethod
    def prices(cls, snap: SnapshotFiles, entry_id: str) -> List[CatalogPrice]:
        return []

    @classmethod
    def context(cls, snap: SnapshotFiles, entry_id: str) -> List[ContextMetric]:
        return []
