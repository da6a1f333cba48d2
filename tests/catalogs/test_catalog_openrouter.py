"""OpenRouter /benchmarks client against its fake: query params, app headers, meta, limits."""

from __future__ import annotations

import time

import pytest

from critpt_harness.catalogs.openrouter import OpenRouterClient as OR
from critpt_harness.config.catalog import RateLimit
from critpt_harness.catalogs.errors import CatalogAuthError, CatalogBadRequest, CatalogQuotaExhausted


def test_benchmarks_all_sources_keep_meta_and_unknown_fields(call, fakes):
    resp = call(OR, "benchmarks")
    slugs = [i.model_permaslug for i in resp.data]
    assert "openai/gpt-4o" in slugs and {i.source for i in resp.data} == {"artificial-analysis", "design-arena"}
    assert resp.meta.version == "v1" and resp.meta.as_of == "2026-06-03T12:00:00Z"
    assert resp.meta.model_extra["x_unreleased_meta"] == 1
    assert resp.data[0].model_extra["x_unreleased"]["note"]
    req = fakes.openrouter.requests[0]
    assert req.headers["authorization"] == f"Bearer {fakes.openrouter.key}"
    assert req.headers["x-openrouter-title"] == "critpt-harness"
    assert "http-referer" not in req.headers  # unset optional headers are not sent


def test_every_documented_query_param_is_sent(call, fakes, cfg):
    cfg.openrouter.http_referer = "https://example.org/critpt"
    cfg.openrouter.app_categories = "cli-agent,research"
    resp = call(OR, "benchmarks", source="artificial-analysis", task_type="coding", max_results=2)
    assert fakes.openrouter.requests[-1].query == {"source": "artificial-analysis", "task_type": "coding",
                                                   "max_results": "2"}
    assert [i.coding_index for i in resp.data] == [70.2, 65.8]  # sorted by the index, cut at 2
    assert resp.meta.citation.startswith("Source: Artificial Analysis")
    assert resp.meta.source_url == "https://artificialanalysis.ai"
    headers = fakes.openrouter.requests[-1].headers
    assert headers["http-referer"] == "https://example.org/critpt"
    assert headers["x-openrouter-categories"] == "cli-agent,research"

    resp = call(OR, "benchmarks", source="design-arena", arena="builders", category="gamedev")
    assert fakes.openrouter.requests[-1].query == {"source": "design-arena", "arena": "builders",
                                                   "category": "gamedev"}
    assert [i.model_permaslug for i in resp.data] == ["anthropic/claude-3.5-sonnet"]


@pytest.mark.parametrize("kwargs, message", [
    ({"source": "lmarena"}, "source='lmarena'"),
    ({"task_type": "math"}, "task_type='math'"),
    ({"arena": "games"}, "arena='games'"),
    ({"max_results": 0}, "max_results=0"),
    ({"max_results": "many"}, "max_results='many': must be an integer >= 1"),
    ({"source": "artificial-analysis", "arena": "models"}, "Design Arena only"),
])
def test_undocumented_values_are_refused_before_a_request(call, fakes, kwargs, message):
    with pytest.raises(CatalogBadRequest, match=message):
        call(OR, "benchmarks", **kwargs)
    assert fakes.openrouter.count() == 0


def test_server_400_and_401(call, fakes, monkeypatch):
    fakes.openrouter.fail_next(400, body={"error": {"code": 400, "message": "Invalid category"}})
    with pytest.raises(CatalogBadRequest, match="Invalid category"):
        call(OR, "benchmarks", source="design-arena", category="nope")
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-wrong")
    with pytest.raises(CatalogAuthError, match="OPENROUTER_API_KEY"):
        call(OR, "benchmarks")


def test_server_429_is_retried_once_then_reported(call, fakes):
    fakes.openrouter.per_minute = 1
    call(OR, "benchmarks")
    with pytest.raises(CatalogQuotaExhausted, match="rate limit reached"):
        call(OR, "benchmarks", source="design-arena")
    assert fakes.openrouter.count() == 3  # one success, then a 429, one retry (max_rate_limited=1)


def test_client_side_limiter_spaces_requests(call, fakes, cfg):
    cfg.openrouter.rate_limits = [RateLimit(requests=2, per_seconds=0.4)]
    start = time.monotonic()
    for task in ("coding", "intelligence", "agentic"):
        call(OR, "benchmarks", source="artificial-analysis", task_type=task)
    assert time.monotonic() - start >= 0.35  # the third waited for the window
    assert fakes.openrouter.count() == 3


def test_client_side_daily_limit_refuses_before_sending_and_persists(call, fakes, cfg):
    cfg.openrouter.rate_limits = [RateLimit(requests=30, per_seconds=60), RateLimit(requests=1, per_seconds=86400)]
    call(OR, "benchmarks")
    with pytest.raises(CatalogQuotaExhausted, match=r"1 requests per day \(catalog\.openrouter\.rate_limits\)"):
        call(OR, "benchmarks", source="design-arena")  # a new client: the count lives on disk
    assert fakes.openrouter.count() == 1
    # A cached response still needs no request, so it is still served.
    assert call(OR, "benchmarks").meta.version == "v1"
