"""On-disk response cache with HTTP validators, one JSON file per URL.

Freshness comes from config (each provider's terms) or, when config leaves it
open, from the server's ``Cache-Control: max-age``. A stale entry that has
``Last-Modified``/``ETag`` is revalidated with a conditional request, so an
unchanged resource costs a 304 instead of a download. Only response data and a
few response headers are stored: never request headers, so never a key.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, Mapping, Optional

from ..runfiles import write_json_atomic

# Response headers worth keeping: validators, freshness, and content type.
KEPT_HEADERS = ("content-type", "cache-control", "last-modified", "etag", "date", "age", "expires")
_MAX_AGE = re.compile(r"(?:^|,)\s*(?:s-maxage|max-age)\s*=\s*\"?(\d+)", re.IGNORECASE)


@dataclass
class CacheEntry:
    url: str
    status: int
    text: str
    headers: Dict[str, str] = field(default_factory=dict)
    fetched_at: float = 0.0
    expires_at: float = 0.0

    def fresh(self, now: Optional[float] = None) -> bool:
        return (now if now is not None else time.time()) < self.expires_at

    def validators(self) -> Dict[str, str]:
        """Headers for a conditional request (empty when the server gave none)."""
        out = {}
        if self.headers.get("last-modified"):
            out["If-Modified-Since"] = self.headers["last-modified"]
        if self.headers.get("etag"):
            out["If-None-Match"] = self.headers["etag"]
        return out


def kept_headers(headers: Mapping[str, str]) -> Dict[str, str]:
    lowered = {k.lower(): v for k, v in headers.items()}
    return {k: lowered[k] for k in KEPT_HEADERS if k in lowered}


def max_age(headers: Mapping[str, str]) -> Optional[float]:
    value = {k.lower(): v for k, v in headers.items()}.get("cache-control", "")
    m = _MAX_AGE.search(value)
    return float(m.group(1)) if m else None


def no_store(headers: Mapping[str, str]) -> bool:
    return "no-store" in {k.lower(): v for k, v in headers.items()}.get("cache-control", "").lower()


def lifetime(headers: Mapping[str, str], configured: Optional[float]) -> float:
    """Seconds a response stays fresh: the configured TTL, else the server's max-age, else 0."""
    if configured is not None:
        return max(0.0, configured)
    server = max_age(headers)
    return server if server is not None else 0.0


class ResponseCache:
    def __init__(self, root: Path):
        self.root = root

    def path(self, api: str, url: str) -> Path:
        digest = hashlib.sha256(url.encode("utf-8")).hexdigest()
        return self.root / api / f"{digest[:32]}.json"

    def get(self, api: str, url: str) -> Optional[CacheEntry]:
        path = self.path(api, url)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            entry = CacheEntry(**data)
        except (OSError, ValueError, TypeError):
            return None  # absent or unreadable: fetch again
        return entry if entry.url == url else None

    def put(self, api: str, entry: CacheEntry) -> None:
        write_json_atomic(self.path(api, entry.url), asdict(entry))
