"""LLM Registry client against its fake: static endpoints filtered client-side,
Cache-Control/Last-Modified with conditional requests, 429 without headers."""

from __future__ import annotations

import asyncio

import pytest

from critpt_harness.catalogs.llm_registry import LLMRegistryClient as LR
from critpt_harness.catalogs.errors import CatalogBadRequest, CatalogNotFound, CatalogQuotaExhausted
from critpt_harness.catalogs.llm_registry import category_slug


def test_root_meta_and_attribution(call, fakes):
    root = call(LR, "root")
    assert root.api_version == "v1" and root.attribution["url"] == "https://llm-registry.com"
    meta = call(LR, "meta")
    assert meta.counts["models"] == 4 and meta.latest_score_date == "2026-02-16"
    assert meta.model_extra["x_unreleased"]  # unknown field kept
    assert [r.path for r in fakes.llm_registry.requests] == ["/", "/meta"]
    assert "x-api-key" not in fakes.llm_registry.requests[0].headers  # no auth at all


def test_models_filtered_and_paged_client_side_from_one_request(call, fakes):
    openai = call(LR, "models", provider="openai")
    assert [m.id for m in openai.models] == ["gpt-4o", "o3-mini"] and openai.total == 2
    assert [m.id for m in call(LR, "models", open_source=True).models] == ["llama-3-1-70b"]
    assert [m.id for m in call(LR, "models", api_support="reasoning").models] == ["o3-mini"]
    assert [m.id for m in call(LR, "models", capability="vision", family="claude-sonnet").models] == [
        "claude-3-5-sonnet-20241022"]
    page = call(LR, "models", limit=2, offset=1)
    assert [m.id for m in page.models] == ["claude-3-5-sonnet-20241022", "o3-mini"]
    assert (page.total, page.offset, page.limit) == (4, 1, 2)
    assert page.models[0].is_open_source is False and page.models[0].release_date == "2024-10-22"
    # Static API: filters never reach the server, and the cache served every call after the first.
    assert fakes.llm_registry.count() == 1 and fakes.llm_registry.requests[0].query == {}
    with pytest.raises(CatalogBadRequest, match="limit=501"):
        call(LR, "models", limit=501)


def test_model_detail_and_static_slice(call, fakes):
    detail = call(LR, "model", "gpt-4o")
    assert detail.model.name == "GPT-4o" and detail.model.scores["critpt"]["score"] == 1.4
    piece = call(LR, "model_slice", "gpt-4o")
    assert piece.entry() == {"id": "gpt-4o", "name": "GPT-4o", "provider": "OpenAI", "family": "gpt-4o",
                             "status": "active"}
    assert [r.path for r in fakes.llm_registry.requests] == ["/models/gpt-4o", "/models/gpt-4o.json"]
    with pytest.raises(CatalogNotFound, match="404"):
        call(LR, "model", "no-such-model")


def test_benchmarks_scores_and_leaderboards(call, fakes):
    assert [b.id for b in call(LR, "benchmarks", category="reasoning").benchmarks] == ["gpqa", "critpt"]
    scores = call(LR, "scores", model_id="o3-mini", category="Reasoning")
    assert [(s.benchmark_id, s.score) for s in scores.scores] == [("gpqa", 74.8)]
    assert [s.model_id for s in call(LR, "scores", source_id="artificial-analysis", limit=2, offset=1).scores] == [
        "o3-mini", "o3-mini"]
    assert call(LR, "scores", benchmark_id="critpt").scores[0].model_id == "gpt-4o"
    board = call(LR, "leaderboard", "Reasoning", limit=2)
    assert board.category_slug == "reasoning" and len(board.leaderboard) == 2
    assert board.leaderboard[0].rank == 1 and board.leaderboard[0].model_id == "o3-mini"
    assert call(LR, "leaderboard").category_slug == "all"
    assert category_slug("Long Context") == "long-context"
    with pytest.raises(CatalogNotFound):
        call(LR, "leaderboard", "poetry")
    paths = [r.path for r in fakes.llm_registry.requests]
    assert paths.count("/scores") == 1  # three filtered queries, one download


def test_export_json_and_csv_with_filters(call, fakes):
    data = call(LR, "export_json", source_id="artificial-analysis")
    assert {s.model_id for s in data.scores} == {"gpt-4o", "o3-mini"} and data.total == 3
    assert data.attribution["name"] == "LLM Registry"
    full = call(LR, "export_csv")
    assert full.rows == 5 and full.text.startswith("modelId,modelName,benchmarkId")
    only = call(LR, "export_csv", model_id="gpt-4o")
    assert only.rows == 2 and all(line.startswith("gpt-4o,") for line in only.text.splitlines()[1:])
    assert fakes.llm_registry.requests[-1].query == {"format": "csv"}
    assert fakes.llm_registry.count("/export") == 2  # json and csv are two resources; each fetched once


def test_conditional_request_gets_304_then_new_data_after_an_update(call, fakes):
    fakes.llm_registry.max_age = 0  # every response is stale at once: each call revalidates
    first = call(LR, "meta")
    assert first.fetches[0].origin == "network"
    second = call(LR, "meta")
    req = fakes.llm_registry.requests[-1]
    assert "if-modified-since" in req.headers
    assert second.fetches[0].origin == "revalidated" and second.raw == first.raw
    fakes.llm_registry.touch()
    fakes.llm_registry.categories.append("Physics")
    third = call(LR, "meta")
    assert third.fetches[0].origin == "network" and "Physics" in third.categories
    assert fakes.llm_registry.count("/meta") == 3


def test_max_age_from_the_server_sets_the_cache_lifetime(call, fakes):
    call(LR, "benchmarks")
    call(LR, "benchmarks", category="math")
    assert fakes.llm_registry.count() == 1  # max-age=300: the second is a cache hit


def test_429_without_headers_waits_the_block_then_retries(call, fakes, cfg):
    fakes.llm_registry.fail_next(429, body="error code: 1015")
    assert call(LR, "meta").api_version == "v1"
    assert fakes.llm_registry.count() == 2


def test_429_that_persists_is_reported(call, fakes):
    fakes.llm_registry.budget = 0
    with pytest.raises(CatalogQuotaExhausted, match="HTTP 429"):
        call(LR, "meta")
    assert fakes.llm_registry.count() == 2  # one retry after the (configured) block time


def test_expired_cache_is_used_when_the_server_refuses(cfg, fakes):
    fakes.llm_registry.max_age = 0

    async def go():
        async with LR(cfg) as client:
            fresh = await client.meta()
            fakes.llm_registry.budget = fakes.llm_registry.count()  # from now on: 429
            stale = await client.meta()
            return fresh, stale, client.notices

    fresh, stale, notices = asyncio.run(go())
    assert stale.raw == fresh.raw and stale.fetches[0].origin == "stale"
    assert any("using the cached copy" in n for n in notices)
