"""The HTTP client every download uses: timeouts, user agent, the offline switch, and a GET
through the retry policy (:mod:`.retry`; failures are typed in :mod:`.failures`).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

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


async def get_bytes(client: "httpx.AsyncClient", url: str, policy: RetryPolicy) -> bytes:
    """GET a URL with the retry policy; non-2xx becomes :class:`HTTPStatusError`."""

    async def once() -> bytes:
        response = await client.get(url)
        if response.status_code >= 400:
            raise HTTPStatusError(response.status_code, response.headers, response.text, url)
        return response.content

    content, _ = await policy.call(once)
    return content
