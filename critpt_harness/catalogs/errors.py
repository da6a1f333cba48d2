"""One exception per catalog failure a user can act on; each message says what to do."""

from __future__ import annotations

import socket
from datetime import datetime
from typing import TYPE_CHECKING, Any, List, Optional

from ..errors import HarnessError
from ..failures import causes, classify

if TYPE_CHECKING:
    from ..config.catalog import ApiConfig


class CatalogError(HarnessError):
    """A catalog API call failed; ``api`` names the config section (catalog.<api>)."""

    def __init__(self, api: str, message: str):
        self.api = api
        super().__init__(f"{api}: {message}")


class CatalogAuthError(CatalogError):
    """401/403: the key is missing, wrong, or lacks access."""


class CatalogNotFound(CatalogError):
    """404: the model, category or path does not exist."""


class CatalogBadRequest(CatalogError):
    """400, or an argument the documents forbid (caught before any request)."""


class CatalogQuotaExhausted(CatalogError):
    """The server's 429, or the client-side limiter, says no more requests until ``until``."""

    exit_code = 3

    def __init__(self, api: str, message: str, until: Optional[datetime] = None):
        self.until = until
        super().__init__(api, message)


class CatalogUnavailable(CatalogError):
    """5xx or network failure that outlasted the retries."""


class CatalogSchemaError(CatalogError):
    """The reply is not the documented shape; ``raw`` and ``fetches`` keep what came back,
    so a snapshot can still store it."""

    def __init__(self, api: str, message: str, raw: Any = None, fetches: Optional[List[Any]] = None):
        self.raw = raw
        self.fetches = list(fetches or [])
        super().__init__(api, message)


class CatalogWriteDisabled(CatalogError):
    """A write (review submission) was asked for without the option that allows it."""


def explain(api: str, cfg: "ApiConfig", exc: BaseException, url: str) -> CatalogError:
    """An HTTP failure as the typed error a user can act on."""
    failure = classify(exc)
    if failure.kind == "unreachable":
        dns = "not known" in str(exc) or any(isinstance(e, socket.gaierror) for e in causes(exc))
        why = "name does not resolve" if dns else "connection refused"
        return CatalogUnavailable(api, f"cannot reach {cfg.base_url} ({why}; not retried). Check "
                                       f"catalog.{api}.base_url and your network, or set "
                                       f"catalog.{api}.enabled=false.")
    if failure.status is None:
        return CatalogUnavailable(api, f"could not reach {url} ({type(exc).__name__}: {failure.message}). Check "
                                       f"catalog.{api}.base_url and your network, then try again.")
    status, message = failure.status, failure.message
    where = f"HTTP {status} from {url}" + (f": {message}" if message else "")
    if failure.kind == "rate_limited":
        until = failure.until
        when = f"until {until:%Y-%m-%d %H:%M:%S} UTC" if until else "for now (the server did not say until when)"
        return CatalogQuotaExhausted(api, f"rate limit reached ({where}); no more requests {when}. Cached "
                                          f"data is used where it exists; run again later.", until=until)
    if failure.kind in ("auth", "forbidden"):
        key = f"the key in ${cfg.api_key_env} (catalog.{api}.api_key_env)" if cfg.api_key_env \
            else "this request"
        what = "was refused" if status == 401 else "has no access to this endpoint"
        return CatalogAuthError(api, f"{key} {what} ({where}). Check the key, or set "
                                     f"catalog.{api}.enabled=false to skip this catalog.")
    if failure.kind == "not_found":
        return CatalogNotFound(api, f"not found ({where}). Check the id, slug or category.")
    if status == 400:
        return CatalogBadRequest(api, f"the server rejected the request ({where}).")
    if 400 <= status < 500:  # not documented for this API; retrying the same request will not help
        return CatalogBadRequest(api, f"the server refused the request with an undocumented status ({where}). "
                                      f"Check catalog.{api}.base_url and catalog.{api}.endpoints; the provider "
                                      f"may have changed its API (or set catalog.{api}.enabled=false).")
    return CatalogUnavailable(api, f"the server kept failing ({where}); try again later.")
