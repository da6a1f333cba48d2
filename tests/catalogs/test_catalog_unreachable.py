"""Catalogs fail fast on a refused connection or a name that does not resolve."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest

from critpt_harness.catalogs.errors import CatalogUnavailable
from critpt_harness.catalogs.openrouter import OpenRouterClient
from critpt_harness.catalogs.snapshot import take_snapshot
from critpt_harness.failures import unreachable
from critpt_harness.retry import RetryPolicy


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again on exit: connecting is refused


def test_a_refused_connection_is_tried_once_and_names_the_api_and_url(cfg):
    url = f"http://127.0.0.1:{closed_port()}/api/v1"
    cfg.openrouter.base_url = url
    cfg.retry.initial_wait = 5.0  # a retry would be visible as a second attempt, not just as time

    async def go():
        async with OpenRouterClient(cfg) as client:
            with pytest.raises(CatalogUnavailable) as err:
                await client.benchmarks()
            return client.requests_made, err.value

    attempts, err = asyncio.run(go())
    assert attempts == 1
    text = str(err)
    assert text.startswith("openrouter:") and url in text and "connection refused" in text
    assert "\n" not in text


def test_a_snapshot_with_one_unreachable_api_makes_one_attempt_there(cfg, fakes, tmp_path):
    cfg.openrouter.base_url = f"http://127.0.0.1:{closed_port()}/api/v1"
    lines = []
    take_snapshot(cfg, tmp_path / "snap", lines.append)
    refused = [line for line in lines if "openrouter" in line and "connection refused" in line]
    assert len(refused) == 1, lines
    assert fakes.openrouter.requests == []
    assert fakes.total_requests() > 0  # the other APIs still ran


def _dns_error() -> httpx.ConnectError:
    try:
        try:
            raise socket.gaierror(-2, "Name or service not known")
        except socket.gaierror as cause:
            raise httpx.ConnectError("[Errno -2] Name or service not known") from cause
    except httpx.ConnectError as exc:
        return exc


def test_dns_failures_and_refusals_are_permanent_for_catalogs_only():
    calls = []

    async def fail():
        calls.append(1)
        raise _dns_error()

    catalog = RetryPolicy(max_attempts=4, initial_wait=0.0, max_wait=0.0, permanent=unreachable)
    with pytest.raises(httpx.ConnectError):
        asyncio.run(catalog.call(fail))
    assert len(calls) == 1
    calls.clear()
    generation = RetryPolicy(max_attempts=3, initial_wait=0.0, max_wait=0.0)  # the default keeps retrying
    with pytest.raises(httpx.ConnectError):
        asyncio.run(generation.call(fail))
    assert len(calls) == 3
    assert unreachable(httpx.ConnectError("x")) is False  # other connect errors stay transient
    assert not unreachable(httpx.ReadTimeout("slow"))
