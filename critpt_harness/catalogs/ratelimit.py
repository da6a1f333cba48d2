"""Client-side request limits per API, shared by every process on the machine.

Daily quotas outlive a process, so each request's time is kept in a small file
under the cache dir (guarded by a file lock). A short wait for a free slot is
slept; a long one (a spent daily quota) raises at once, before any request.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Awaitable, Callable, List, Optional, Sequence, Tuple

from filelock import FileLock

from ..config.catalog import RateLimit
from .errors import CatalogQuotaExhausted


def _window(seconds: float) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            n = int(seconds // size)
            return unit if n == 1 else f"{n} {unit}s"
    return f"{seconds:g} s"


class RateLimiter:
    def __init__(self, api: str, limits: Sequence[RateLimit], state_file: Optional[Path] = None,
                 max_wait: float = 90.0, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep):
        self.api = api
        self.limits = [l for l in limits if l.requests > 0 and l.per_seconds > 0]
        self.state_file = state_file
        self.max_wait = max_wait
        self.clock = clock
        self.sleep = sleep
        self._memory: List[float] = []
        self._horizon = max((l.per_seconds for l in self.limits), default=0.0)

    def _load(self) -> List[float]:
        if self.state_file is None:
            return list(self._memory)
        try:
            return [float(t) for t in json.loads(self.state_file.read_text(encoding="utf-8"))["times"]]
        except (OSError, ValueError, KeyError, TypeError):
            return []  # no file yet, or a torn one: start counting afresh

    def _save(self, times: List[float]) -> None:
        if self.state_file is None:
            self._memory = times
            return
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"api": self.api, "times": times}), encoding="utf-8")
        tmp.replace(self.state_file)

    def _take(self) -> Tuple[float, Optional[RateLimit]]:
        """Record a request and return (0, None), or return the wait for the fullest window."""
        now = self.clock()
        times = [t for t in self._load() if now - t < self._horizon]
        wait, blocking = 0.0, None
        for limit in self.limits:
            recent = [t for t in times if now - t < limit.per_seconds]
            if len(recent) >= limit.requests:
                # The slot frees when the oldest request that fills the window leaves it.
                frees = recent[-limit.requests] + limit.per_seconds - now
                if frees > wait:
                    wait, blocking = frees, limit
        if blocking is None:
            times.append(now)
        self._save(times)
        return wait, blocking

    def _locked_take(self) -> Tuple[float, Optional[RateLimit]]:
        if self.state_file is None:
            return self._take()
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.state_file) + ".lock", timeout=30):
            return self._take()

    async def acquire(self) -> None:
        """Wait for a free slot (up to ``max_wait``) and claim it; raise when it is further off."""
        if not self.limits:
            return
        while True:
            wait, limit = self._locked_take()
            if limit is None:
                return
            if wait > self.max_wait:
                until = datetime.fromtimestamp(self.clock() + wait, timezone.utc)
                raise CatalogQuotaExhausted(
                    self.api,
                    f"the client-side limit of {limit.requests} requests per {_window(limit.per_seconds)} "
                    f"(catalog.{self.api}.rate_limits) is used up until {until:%Y-%m-%d %H:%M:%S} UTC. "
                    "Cached responses are used where they exist; run again after that time, or raise "
                    "the limit if your plan allows more.",
                    until=until,
                )
            await self.sleep(wait)
