"""HTTP and SDK failures, typed once: the status and headers an exception carries, the
server's own words, how long it asks us to wait (``Retry-After``, rate-limit resets read
leniently), and :func:`classify`, which every client (the retry policy, the model clients,
the submitter, the catalog clients) asks what kind of failure it got.
"""

from __future__ import annotations

import email.utils
import errno
import json
import re
import socket
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator, Mapping, Optional


# Statuses worth another try: rate limits, timeouts and server-side failures.
TRANSIENT_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529})


class HTTPStatusError(Exception):
    """A non-success reply, with what a retry decision and an error message need."""

    def __init__(self, status_code: int, headers: Mapping[str, str], body: str, url: str = ""):
        self.status_code = status_code
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.body = body
        self.url = url
        super().__init__(f"HTTP {status_code} from {url}: {body[:300]}")


def status_of(exc: BaseException) -> Optional[int]:
    """HTTP status carried by an exception from httpx, the openai SDK or this module."""
    status = getattr(exc, "status_code", None)
    if status is None:
        status = getattr(getattr(exc, "response", None), "status_code", None)
    return status if isinstance(status, int) else None


def headers_of(exc: BaseException) -> Mapping[str, str]:
    headers = getattr(exc, "headers", None)
    if headers is None:
        headers = getattr(getattr(exc, "response", None), "headers", None)
    return headers or {}


def retry_after_seconds(headers: Mapping[str, str], now: Optional[datetime] = None) -> Optional[float]:
    """Seconds the server asks us to wait: ``retry-after-ms``, then ``Retry-After``
    (delta-seconds or an HTTP date). None when absent or unreadable."""
    lowered = {k.lower(): v for k, v in headers.items()}
    ms = lowered.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        when = parse_reset(value)
        if when is None:
            return None
        now = now or datetime.now(timezone.utc)
        return max(0.0, (when - now).total_seconds())


_JS_DATE = re.compile(
    r"^(?:\w{3},?\s+)?(\w{3})\s+(\d{1,2})\s+(\d{4})\s+(\d{1,2}):(\d{2}):(\d{2})\s*(?:GMT|UTC)?\s*([+-]\d{4})?"
)


def parse_reset(value: Any, now: Optional[datetime] = None) -> Optional[datetime]:
    """Parse a rate-limit reset time leniently: a JavaScript Date string
    ("Wed Jan 01 2025 00:00:00 GMT+0000 (Coordinated Universal Time)"), an HTTP
    date, ISO 8601, epoch seconds, or (small numbers) seconds from now."""
    if value is None or value == "":
        return None
    now = now or datetime.now(timezone.utc)
    if isinstance(value, (int, float)) or re.fullmatch(r"\s*\d+(\.\d+)?\s*", str(value)):
        number = float(value)
        # Epoch seconds (or ms) are large; anything smaller is a delay.
        if number > 1e12:
            return datetime.fromtimestamp(number / 1000, timezone.utc)
        if number > 1e9:
            return datetime.fromtimestamp(number, timezone.utc)
        return now + timedelta(seconds=number)
    text = str(value).strip()
    # JavaScript first: the email parser would read its 'GMT+0200' as plain GMT.
    m = _JS_DATE.match(text)
    if m:
        mon, day, year, hh, mm, ss, offset = m.groups()
        try:
            base = datetime.strptime(f"{mon} {day} {year} {hh}:{mm}:{ss}", "%b %d %Y %H:%M:%S")
        except ValueError:
            return None
        tz = timezone.utc
        if offset:
            sign = 1 if offset[0] == "+" else -1
            tz = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5])))
        return base.replace(tzinfo=tz).astimezone(timezone.utc)
    try:
        parsed = email.utils.parsedate_to_datetime(text)
        if parsed is not None:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    except (TypeError, ValueError, IndexError):
        pass
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    except ValueError:
        pass
    return None


def server_message(text: str) -> str:
    """The human part of an error body ({"error": ...}, {"message": ...}, or text)."""
    try:
        body = json.loads(text)
    except (ValueError, TypeError):
        return (text or "").strip()[:300]
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            parts = [str(err[k]) for k in ("code", "message", "details") if err.get(k)]
            return ": ".join(parts)[:300] or json.dumps(err)[:300]
        for key in ("message", "error", "detail"):
            if body.get(key):
                return str(body[key])[:300]
    return (text or "").strip()[:300]


def quota_until(headers: Mapping[str, str], text: str = "") -> Optional[datetime]:
    """When a 429 ends: Retry-After, else X-RateLimit-Reset, else the body's reset/retryAfter."""
    lowered = {k.lower(): v for k, v in headers.items()}
    wait = retry_after_seconds(lowered)
    if wait is not None:
        return datetime.now(timezone.utc) + timedelta(seconds=wait)
    reset = parse_reset(lowered.get("x-ratelimit-reset"))
    if reset is None:
        try:
            body = json.loads(text) if text else None
        except (ValueError, TypeError):
            body = None
        if isinstance(body, dict):
            reset = parse_reset(body.get("reset")) or parse_reset(body.get("retryAfter"))
    return reset


class RetryAfterTooLong(Exception):
    """The server asked for a wait longer than the policy allows."""

    def __init__(self, seconds: float, limit: float, cause: BaseException):
        self.seconds, self.limit, self.cause = seconds, limit, cause
        super().__init__(
            f"server asked to wait {seconds:.0f}s before retrying (limit {limit:.0f}s): {cause}"
        )


def is_httpx_error(exc: BaseException, name: str) -> bool:
    """``exc`` is httpx's ``name`` error, or that of httpx2 (the fork later openai SDKs use). Each is
    looked up, not imported: when nothing has loaded it, no failure can be one of its errors."""
    return any(isinstance(exc, getattr(module, name, ())) for module in map(sys.modules.get, ("httpx", "httpx2"))
               if module is not None)


def causes(exc: Optional[BaseException]) -> Iterator[BaseException]:
    """``exc`` and what caused it (``__cause__``, else ``__context__``), each once."""
    seen: set = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def unreachable(exc: BaseException) -> bool:
    """A name that does not resolve (socket.gaierror) or a refused connection: retrying
    in seconds does not help, so callers that prefer failing fast treat it as permanent."""
    for e in causes(exc):
        if isinstance(e, (socket.gaierror, ConnectionRefusedError)):
            return True
        if isinstance(e, OSError) and e.errno in (errno.ECONNREFUSED,):
            return True
        text = str(e)
        if is_httpx_error(e, "ConnectError") and ("Name or service not known" in text
                                                or "nodename nor servname" in text
                                                or "Connection refused" in text):
            return True
        group = getattr(e, "exceptions", None)  # an exception group: every connection attempt refused
        if isinstance(group, (list, tuple)) and group and all(unreachable(g) for g in group):
            return True
    return False


_UNKNOWN_MODEL = re.compile(r"model\b.{0,80}\b(not found|does not exist|not exist|unknown|invalid|not a valid|"
                            r"no such|not available|not supported)|(unknown|invalid|no such) model", re.I | re.S)


@dataclass(frozen=True)
class Failure:
    """An HTTP or SDK failure, typed once for every caller (the retry policy, the model
    clients, the submitter, the catalog clients); each caller adds its own advice."""

    # unreachable | timeout | connection | auth | forbidden | not_found | unknown_model |
    # too_large | rate_limited | server (a transient status) | rejected (any other status) | other
    kind: str
    status: Optional[int] = None
    retry_after: Optional[float] = None  # seconds the server asked to wait (Retry-After, X-RateLimit-Reset)
    message: str = ""  # the server's own words, or the exception's text
    # When a rate limit (or a wait longer than the policy allows) ends, if the server says.
    until: Optional[datetime] = None

    @property
    def transient(self) -> bool:
        """Another try may succeed (a 429, a 5xx, a timeout, a dropped connection)."""
        return self.kind in ("rate_limited", "server", "timeout", "connection")

    @property
    def fatal(self) -> bool:
        """No request as configured can succeed: wrong key, URL or model, or a host not reachable."""
        return self.kind in ("auth", "forbidden", "not_found", "unknown_model", "unreachable")


def _is_timeout(exc: BaseException) -> bool:
    return any(isinstance(e, TimeoutError) or is_httpx_error(e, "TimeoutException")
               or type(e).__name__ == "APITimeoutError" for e in causes(exc))


def classify(exc: BaseException) -> Failure:
    """What kind of failure ``exc`` is (see :class:`Failure`)."""
    if isinstance(exc, RetryAfterTooLong):
        inner = classify(exc.cause)
        return Failure(inner.kind, inner.status, exc.seconds, inner.message, _until(exc.cause))
    status = status_of(exc)
    body = getattr(exc, "body", None)
    message = server_message(body if isinstance(body, str) else "") or str(exc).strip() or type(exc).__name__
    if status is None:
        if unreachable(exc):
            return Failure("unreachable", message=message)
        if _is_timeout(exc):
            return Failure("timeout", message=message)
        if (isinstance(exc, ConnectionError) or is_httpx_error(exc, "TransportError")
                or type(exc).__name__ == "APIConnectionError"):
            return Failure("connection", message=message)
        return Failure("other", message=message)
    after, until = retry_after_seconds(headers_of(exc)), None
    if status == 429:
        kind, until = "rate_limited", _until(exc)
    elif status in TRANSIENT_STATUSES:
        kind = "server"
    elif status in (400, 422) and _UNKNOWN_MODEL.search(str(exc)):
        kind = "unknown_model"
    else:
        kind = {401: "auth", 403: "forbidden", 404: "not_found", 413: "too_large"}.get(status, "rejected")
    return Failure(kind, status, after, message, until)


def _until(exc: BaseException) -> Optional[datetime]:
    body = getattr(exc, "body", None)
    return quota_until(headers_of(exc), body if isinstance(body, str) else "")


# fatal_reason's words for each fatal kind (the caller adds what to do)
_FATAL = {"auth": "the key was refused", "forbidden": "access was denied",
          "not_found": "not found", "unknown_model": "the model is not known there",
          "unreachable": "the host cannot be reached (the name does not resolve or the connection is refused)"}


def fatal_reason(exc: BaseException) -> Optional[str]:
    """Why a request can never succeed as configured (a wrong key, URL or model name, a host that
    does not resolve or refuses connections), or None when retrying or another request may help."""
    failure = classify(exc)
    if not failure.fatal:
        return None
    text = _FATAL[failure.kind] + (f" (HTTP {failure.status})" if failure.status is not None else "")
    return text + (": a wrong base_url path or an unknown model" if failure.kind == "not_found" else "")

