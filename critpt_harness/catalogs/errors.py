"""One exception per catalog failure a user can act on; each message says what to do."""

from __future__ import annotations

from datetime import datetime
from typing import Any, List, Optional

from ..errors import HarnessError


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
