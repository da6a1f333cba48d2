"""AI Models Map client against its fake: every endpoint, cursor pagination,
argument checks before requests, the guarded review POST, unauthenticated health."""

from __future__ import annotations

import pytest

from critpt_harness.catalogs.aimodelsmap import AIModelsMapClient as AM
from critpt_harness.catalogs.errors import (CatalogAuthError, CatalogBadRequest, CatalogNotFound,
                                            CatalogQuotaExhausted, CatalogWriteDisabled)


def test_models_page_with_every_filter(call, fakes):
    page = call(AM, "models", category="reasoning", provider="openai", status="active", search="o3",
                sort_by="name", sort_order="asc", limit=5)
    assert [m.slug for m in page.data] == ["o3-mini"]
    assert page.pagination.has_more is False and page.pagination.total == 1
    assert fakes.aimodelsmap.requests[0].query == {"category": "reasoning", "provider": "openai", "status": "active",
                                                   "search": "o3", "sort_by": "name", "sort_order": "asc",
                                                   "limit": "5"}
    assert fakes.aimodelsmap.requests[0].headers["x-api-key"] == fakes.aimodelsmap.key
    assert page.data[0].model_extra["x_unreleased"]  # unknown field kept


def test_all_models_follows_the_cursor_to_the_end(call, fakes):
    everything = call(AM, "all_models")
    assert len(everything.data) == 47 and len({m.slug for m in everything.data}) == 47
    assert everything.pagination.has_more is False
    assert fakes.aimodelsmap.count("/models") == 3  # page_size 20: 20 + 20 + 7
    cursors = [r.query.get("cursor") for r in fakes.aimodelsmap.requests]
    assert cursors[0] is None and all(cursors[1:])
    assert len(everything.fetches) == 3


def test_all_models_stops_at_a_limit_and_says_so(cfg, fakes):
    import asyncio

    async def go():
        async with AM(cfg) as client:
            return await client.all_models(max_items=25), client.notices

    capped, notices = asyncio.run(go())
    assert len(capped.data) == 25 and capped.pagination.has_more is True
    assert fakes.aimodelsmap.requests[-1].query["limit"] == "5"  # the last page asks only for what is missing
    assert fakes.aimodelsmap.count() == 2
    assert any("max_items=25" in n for n in notices)


def test_model_detail_scores_signals(call, fakes):
    detail = call(AM, "model", "claude-3-5-sonnet")
    assert detail.data.aliases == ["claude-3.5-sonnet", "sonnet-3.5"] and detail.data.pricing["input_price_per_million"] == 3
    history = call(AM, "model_scores", "claude-3-5-sonnet", category="coding", start_date="2025-12-01",
                   end_date="2026-02-25", granularity="weekly")
    assert history.granularity == "weekly" and history.data[0].category == "coding"
    assert fakes.aimodelsmap.requests[-1].query == {"category": "coding", "startDate": "2025-12-01",
                                                    "endDate": "2026-02-25", "granularity": "weekly"}
    signals = call(AM, "model_signals", "gpt-4o", signal_type="quality", start_date="2026-01-01")
    assert signals.data[0].signal_type == "quality" and signals.data[0].normalized_value == 0.94
    with pytest.raises(CatalogNotFound, match="not_found"):
        call(AM, "model", "no-such-model")


@pytest.mark.parametrize("method, args, kwargs, message", [
    ("models", (), {"status": "alive"}, "status='alive'"),
    ("models", (), {"limit": 101}, "limit=101"),
    ("model_scores", ("gpt-4o",), {"granularity": "hourly"}, "granularity"),
    ("model_scores", ("gpt-4o",), {"start_date": "01/12/2025"}, "ISO 8601"),
    ("model_signals", ("gpt-4o",), {"signal_type": "vibes"}, "signalType"),
    ("rankings_movers", ("coding",), {"period": "1y"}, "period"),
    ("reviews", ("gpt-4o",), {"sort_by": "oldest"}, "sortBy"),
    ("search", ("  ",), {}, "non-empty"),
    ("compare", (["gpt-4o"],), {}, "2 to 4 slugs, got 1"),
    ("compare", (["a", "b", "c", "d", "e"],), {}, "2 to 4 slugs, got 5"),
    ("compare", (["gpt-4o", "gpt-4o"],), {}, "distinct"),
    ("compare", (["gpt-4o", "o3-mini,x"],), {}, "no commas"),
    ("pricing_calculate", (), {}, "at least one"),
])
def test_arguments_are_checked_before_any_request(call, fakes, method, args, kwargs, message):
    with pytest.raises(CatalogBadRequest, match=message):
        call(AM, method, *args, **kwargs)
    assert fakes.aimodelsmap.count() == 0


def test_search_is_typo_tolerant_and_compare_sends_the_slugs(call, fakes):
    hits = call(AM, "search", "cluade sonnet", limit=3)
    assert hits.data[0].slug == "claude-3-5-sonnet" and hits.query == "cluade sonnet"
    assert fakes.aimodelsmap.requests[-1].path == "/models/search"
    compared = call(AM, "compare", ["claude-3-5-sonnet", "gpt-4o", "not-a-model"])
    assert fakes.aimodelsmap.requests[-1].query == {"slugs": "claude-3-5-sonnet,gpt-4o,not-a-model"}
    assert compared.slugs_found == ["claude-3-5-sonnet", "gpt-4o"] and len(compared.data) == 2


def test_rankings_history_movers(call, fakes):
    first = call(AM, "rankings", "reasoning", limit=10)
    assert [e.rank for e in first.data] == list(range(1, 11)) and first.pagination.has_more
    assert first.data[0].model.provider == {"name": "Anthropic", "slug": "anthropic"}
    whole = call(AM, "all_rankings", "reasoning")
    assert len(whole.data) == 25 and whole.data[-1].rank == 25  # 3 named + 22 fillers
    history = call(AM, "rankings_history", "coding", start_date="2026-01-01", end_date="2026-02-25",
                   model_slug="gpt-4o")
    assert [e.model.slug for e in history.data] == ["gpt-4o"]
    movers = call(AM, "rankings_movers", "coding", period="24h", limit=5)
    assert movers.period == "24h" and movers.data.gainers[0].direction == "up" and movers.data.losers == []
    with pytest.raises(CatalogNotFound):
        call(AM, "rankings", "poetry")


def test_categories_tree_and_detail(call):
    tree = call(AM, "categories")
    assert tree.slugs() == ["coding", "coding-generation", "reasoning"]
    detail = call(AM, "category", "coding")
    assert detail.data.model_count == 24 and detail.data.children[0]["slug"] == "coding-generation"
    with pytest.raises(CatalogNotFound):
        call(AM, "category", "poetry")


def test_reviews_list_and_every_page(call, fakes):
    page = call(AM, "reviews", "claude-3-5-sonnet", sort_by="helpful", limit=3)
    assert len(page.data) == 3 and page.summary["total_reviews"] == 7 and page.pagination.has_more
    everything = call(AM, "all_reviews", "claude-3-5-sonnet")
    assert [r.id for r in everything.data] == [f"rev_{i}" for i in range(7)]


def test_review_submission_is_guarded(call, fakes, cfg):
    with pytest.raises(CatalogWriteDisabled, match="allow_review_submission=true"):
        call(AM, "submit_review", "gpt-4o", rating=5, body="Derives the Ising exponents well.", author_name="me")
    assert fakes.aimodelsmap.count() == 0
    cfg.aimodelsmap.allow_review_submission = True
    with pytest.raises(CatalogBadRequest, match="rating must be an integer 1-5; body must be 10-5000"):
        call(AM, "submit_review", "gpt-4o", rating=6, body="short", author_name="me")
    assert fakes.aimodelsmap.count() == 0
    posted = call(AM, "submit_review", "gpt-4o", rating=4, body="Derives the Ising exponents well.",
                  author_name="me", use_case="physics")
    req = fakes.aimodelsmap.requests[-1]
    assert req.method == "POST" and req.path == "/models/gpt-4o/reviews"
    assert req.body == {"rating": 4, "body": "Derives the Ising exponents well.", "authorName": "me",
                        "useCase": "physics"}
    assert posted.data.author_name == "me" and posted.data.verified is False


def test_review_with_a_read_only_key_is_forbidden(call, fakes, cfg, monkeypatch):
    fakes.aimodelsmap.read_only_keys.add("amm-read-only")
    monkeypatch.setenv("AIMODELSMAP_API_KEY", "amm-read-only")
    cfg.aimodelsmap.allow_review_submission = True
    with pytest.raises(CatalogAuthError, match="has no access"):
        call(AM, "submit_review", "gpt-4o", rating=4, body="Good at perturbation theory.", author_name="me")


def test_pricing_and_calculate(call, fakes):
    price = call(AM, "pricing", "claude-3-5-sonnet")
    assert price.data.current["free_tier_available"] is True and price.data.history == []
    estimate = call(AM, "pricing_calculate", monthly_tokens=10_000_000, category="coding")
    assert fakes.aimodelsmap.requests[-1].body == {"monthlyTokens": 10_000_000, "category": "coding"}
    assert estimate.data[0].estimated_monthly_cost == pytest.approx(45.0) and estimate.usage["monthly_images"] == 0


def test_health_endpoints_at_the_host_root_without_a_key(call, fakes):
    health = call(AM, "health")
    pipelines = call(AM, "health_pipelines")
    assert health.status == "ok" and health.services["database"] == "healthy"
    assert pipelines.summary["healthy"] == 1 and pipelines.pipelines[0]["source_name"] == "chatbot-arena"
    for req in fakes.aimodelsmap.requests:
        assert req.path.startswith("/health") and "x-api-key" not in req.headers
    call(AM, "health")
    assert fakes.aimodelsmap.count("/health") == 2  # cached like every endpoint (catalog.refresh=true asks again)


def test_401_and_daily_429(call, fakes, monkeypatch):
    fakes.aimodelsmap.budget = 0
    with pytest.raises(CatalogQuotaExhausted, match="Daily rate limit exceeded"):
        call(AM, "categories")
    monkeypatch.setenv("AIMODELSMAP_API_KEY", "nope")
    fakes.aimodelsmap.budget = None
    with pytest.raises(CatalogAuthError, match="AIMODELSMAP_API_KEY"):
        call(AM, "categories")


def test_health_needs_no_key_but_other_endpoints_do(call, fakes, cfg, tmp_path, monkeypatch):
    from critpt_harness.catalogs.snapshot import take_snapshot
    from critpt_harness.errors import MissingKeyError

    monkeypatch.delenv("AIMODELSMAP_API_KEY")
    assert call(AM, "health").status == "ok"
    with pytest.raises(MissingKeyError, match=r"AIMODELSMAP_API_KEY \(from catalog\.aimodelsmap\.api_key_env\)"):
        call(AM, "categories")
    cfg.aimodelsmap.endpoints = ["health", "pipelines"]
    index = take_snapshot(cfg, tmp_path / "snap", echo=lambda _: None)
    assert index["apis"]["aimodelsmap"]["status"] == "ok"
    assert (tmp_path / "snap/aimodelsmap/pipelines.json").exists()
