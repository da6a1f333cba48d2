"""The shared HTTP policy: lenient rate-limit parsing and bounded retries."""

import asyncio
import time
from datetime import datetime, timezone

import httpx
import pytest

from critpt_harness.failures import HTTPStatusError, RetryAfterTooLong, parse_reset, retry_after_seconds
from critpt_harness.retry import RetryPolicy

NOW = datetime(2025, 1, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize("text", [
    "Wed Jan 01 2025 00:00:00 GMT+0000 (Coordinated Universal Time)",
    "Wed, 01 Jan 2025 00:00:00 GMT",
    "2025-01-01T00:00:00Z",
    "1735689600",
])
def test_parse_reset_reads_every_documented_form(text):
    assert parse_reset(text, now=NOW) == datetime(2025, 1, 1, tzinfo=timezone.utc)


def test_parse_reset_handles_an_offset_in_a_javascript_date():
    when = parse_reset("Wed Jan 01 2025 02:00:00 GMT+0200 (Eastern European Standard Time)")
    assert when == datetime(2025, 1, 1, tzinfo=timezone.utc)


def test_parse_reset_treats_small_numbers_as_a_delay_and_rejects_garbage():
    assert parse_reset("3600", now=NOW) == datetime(2025, 1, 1, 1, tzinfo=timezone.utc)
    assert parse_reset("soon") is None


def test_retry_after_prefers_milliseconds_and_reads_dates():
    assert retry_after_seconds({"retry-after-ms": "250", "Retry-After": "9"}) == 0.25
    assert retry_after_seconds({"Retry-After": "7"}) == 7.0
    assert retry_after_seconds({"Retry-After": "Wed, 01 Jan 2025 00:01:00 GMT"}, now=NOW) == 60.0
    assert retry_after_seconds({}) is None


def _failing(*errors):
    calls = {"n": 0}

    async def fn():
        calls["n"] += 1
        if calls["n"] <= len(errors):
            raise errors[calls["n"] - 1]
        return "ok"
    return fn, calls


def test_policy_retries_transient_errors_then_succeeds():
    fn, calls = _failing(HTTPStatusError(503, {}, "busy"), httpx.ConnectError("refused"))
    result, attempts = asyncio.run(RetryPolicy(initial_wait=0.001).call(fn))
    assert (result, attempts, calls["n"]) == ("ok", 3, 3)


def test_the_sdks_own_httpx_errors_are_known_too():
    """Later openai SDKs bring httpx2; an error of theirs that reaches us unwrapped (a stream cut mid-way)
    is retried and classified like httpx's."""
    httpx2 = pytest.importorskip("httpx2", reason="the installed openai SDK uses httpx, not httpx2")
    from critpt_harness.failures import classify, unreachable

    fn, calls = _failing(httpx2.ReadError("the stream was cut"))
    assert asyncio.run(RetryPolicy(initial_wait=0.001).call(fn)) == ("ok", 2)
    assert classify(httpx2.ReadError("cut")).kind == "connection"
    assert classify(httpx2.ReadTimeout("slow")).kind == "timeout"
    assert unreachable(httpx2.ConnectError("[Errno -2] Name or service not known"))


def test_policy_does_not_retry_client_errors():
    fn, calls = _failing(HTTPStatusError(401, {}, "bad key"))
    with pytest.raises(HTTPStatusError):
        asyncio.run(RetryPolicy(initial_wait=0.001).call(fn))
    assert calls["n"] == 1


def test_policy_is_bounded():
    fn, calls = _failing(*[HTTPStatusError(500, {}, "x")] * 10)
    with pytest.raises(HTTPStatusError):
        asyncio.run(RetryPolicy(max_attempts=3, initial_wait=0.001).call(fn))
    assert calls["n"] == 3


def test_policy_waits_as_long_as_retry_after_says():
    fn, _ = _failing(HTTPStatusError(429, {"Retry-After": "0.3"}, "slow down"))
    start = time.monotonic()
    asyncio.run(RetryPolicy(initial_wait=0.001).call(fn))
    assert time.monotonic() - start >= 0.29


def test_policy_gives_up_at_once_on_a_retry_after_beyond_its_limit():
    fn, calls = _failing(HTTPStatusError(429, {"Retry-After": "86400"}, "quota"))
    start = time.monotonic()
    with pytest.raises(RetryAfterTooLong) as info:
        asyncio.run(RetryPolicy(max_retry_after=60).call(fn))
    assert calls["n"] == 1 and info.value.seconds == 86400
    assert time.monotonic() - start < 1


def test_policy_bounds_rate_limited_retries_separately():
    fn, calls = _failing(*[HTTPStatusError(429, {"Retry-After": "0"}, "x")] * 5)
    with pytest.raises(HTTPStatusError):
        asyncio.run(RetryPolicy(max_attempts=10, max_rate_limited=1).call(fn))
    assert calls["n"] == 2


# ------------------------------------------------------------------ one failure classifier

def _refused() -> httpx.ConnectError:
    try:
        raise ConnectionRefusedError(111, "Connection refused")
    except ConnectionRefusedError as inner:
        try:
            raise httpx.ConnectError("All connection attempts failed") from inner
        except httpx.ConnectError as outer:
            return outer


@pytest.mark.parametrize("exc, kind, transient, fatal", [
    (HTTPStatusError(401, {}, '{"error": "bad key"}'), "auth", False, True),
    (HTTPStatusError(403, {}, ""), "forbidden", False, True),
    (HTTPStatusError(404, {}, ""), "not_found", False, True),
    (HTTPStatusError(400, {}, '{"error": {"message": "The model `x` does not exist"}}'), "unknown_model", False, True),
    (HTTPStatusError(400, {}, '{"error": "submissions must cover 70 problems"}'), "rejected", False, False),
    (HTTPStatusError(413, {}, ""), "too_large", False, False),
    (HTTPStatusError(429, {"Retry-After": "7"}, ""), "rate_limited", True, False),
    (HTTPStatusError(503, {}, ""), "server", True, False),
    (HTTPStatusError(501, {}, ""), "rejected", False, False),
    (httpx.ReadTimeout("timed out"), "timeout", True, False),
    (TimeoutError(), "timeout", True, False),
    (httpx.RemoteProtocolError("peer closed connection"), "connection", True, False),
    (_refused(), "unreachable", False, True),
    (ValueError("not HTTP at all"), "other", False, False),
])
def test_one_classifier_names_every_failure_kind(exc, kind, transient, fatal):
    from critpt_harness.failures import classify, fatal_reason

    failure = classify(exc)
    assert (failure.kind, failure.transient, failure.fatal) == (kind, transient, fatal)
    assert (fatal_reason(exc) is not None) == fatal
    assert failure.message  # never an empty reason, even for a bare TimeoutError
    if failure.status is not None:  # the retry policy decides from the same classification
        assert RetryPolicy().is_transient(exc) == transient


def test_the_classifier_keeps_the_servers_wait_and_words():
    from critpt_harness.failures import classify

    failure = classify(HTTPStatusError(429, {"Retry-After": "7"}, '{"error": {"message": "slow down"}}'))
    assert failure.retry_after == 7 and failure.message == "slow down" and failure.status == 429
    long = classify(RetryAfterTooLong(86400, 300, HTTPStatusError(429, {"Retry-After": "86400"}, "")))
    assert long.kind == "rate_limited" and long.retry_after == 86400
