"""The catalog config group composes with Hydra; the cache and the limiter
behave as their callers rely on."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.config_store import ConfigStore
from omegaconf import OmegaConf

from critpt_harness.catalogs.cache import CacheEntry, ResponseCache, lifetime
from critpt_harness.config.catalog import CatalogConfig, RateLimit
from critpt_harness.catalogs.errors import CatalogQuotaExhausted
from critpt_harness.catalogs.ratelimit import RateLimiter

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


@pytest.fixture
def catalog_primary(tmp_path) -> Path:
    """A primary config holding only the catalog group, typed by its schema as the root config is
    (the schema first, the group's YAML merged onto it)."""
    shutil.copytree(CONFIGS / "catalog", tmp_path / "conf" / "catalog")
    (tmp_path / "conf" / "primary.yaml").write_text("defaults:\n  - primary_schema\n  - catalog: default\n"
                                                    "  - _self_\n")
    ConfigStore.instance().store(name="primary_schema", node={"catalog": CatalogConfig})
    return tmp_path / "conf"


def test_default_yaml_composes_and_equals_the_dataclass_defaults(catalog_primary):
    with initialize_config_dir(config_dir=str(catalog_primary), version_base="1.3"):
        cfg = compose(config_name="primary")
    obj = OmegaConf.to_object(cfg.catalog)
    assert isinstance(obj, CatalogConfig)
    assert obj == CatalogConfig()  # the YAML documents the defaults, it does not drift from them


def test_overrides_are_typed(catalog_primary):
    with initialize_config_dir(config_dir=str(catalog_primary), version_base="1.3"):
        cfg = compose(config_name="primary", overrides=[
            "catalog.openrouter.rate_limits=[{requests: 5, per_seconds: 60}]",
            "+catalog.model_ids.openrouter=openai/gpt-4o",
            "catalog.aimodelsmap.max_items=50"])
        obj = OmegaConf.to_object(cfg.catalog)
        assert obj.openrouter.rate_limits == [RateLimit(5, 60.0)]
        assert obj.model_ids == {"openrouter": "openai/gpt-4o"} and obj.aimodelsmap.max_items == 50
        with pytest.raises(Exception, match="max_items"):
            compose(config_name="primary", overrides=["catalog.aimodelsmap.max_items=lots"])
        with pytest.raises(Exception, match="no_such_key"):
            compose(config_name="primary", overrides=["catalog.openrouter.no_such_key=1"])


def test_documented_limits_are_the_defaults():
    cfg = CatalogConfig()
    assert cfg.artificial_analysis.rate_limits == [RateLimit(1000, 86400)]
    assert cfg.openrouter.rate_limits == [RateLimit(30, 60), RateLimit(500, 86400)]
    assert cfg.llm_registry.rate_limits == [RateLimit(100, 60)] and cfg.llm_registry.api_key_env is None
    assert cfg.llm_registry.cache_ttl_seconds is None  # the server's max-age decides
    assert cfg.aimodelsmap.allow_review_submission is False


def test_lifetime_prefers_config_then_max_age():
    assert lifetime({"Cache-Control": "public, max-age=300"}, None) == 300
    assert lifetime({"Cache-Control": "public, max-age=300"}, 60) == 60
    assert lifetime({}, None) == 0


def test_cache_round_trip_keeps_validators_and_ignores_other_urls(tmp_path):
    cache = ResponseCache(tmp_path)
    entry = CacheEntry("http://h/a?x=1", 200, '{"a": 1}', {"last-modified": "Wed, 01 Jan 2025 00:00:00 GMT",
                                                          "etag": '"v1"'}, 1.0, 2.0)
    cache.put("api", entry)
    back = cache.get("api", "http://h/a?x=1")
    assert back == entry and not back.fresh(now=3.0) and back.fresh(now=1.5)
    assert back.validators() == {"If-Modified-Since": "Wed, 01 Jan 2025 00:00:00 GMT", "If-None-Match": '"v1"'}
    assert cache.get("api", "http://h/a?x=2") is None and cache.get("other", "http://h/a?x=1") is None
    cache.path("api", "http://h/a?x=1").write_text("{torn")
    assert cache.get("api", "http://h/a?x=1") is None  # unreadable means refetch, not a crash


def test_limiter_sleeps_for_short_waits_and_refuses_long_ones(tmp_path):
    clock = [1000.0]
    slept = []

    async def fake_sleep(seconds):
        slept.append(seconds)
        clock[0] += seconds

    limiter = RateLimiter("openrouter", [RateLimit(2, 60), RateLimit(3, 86400)], tmp_path / "rl.json",
                          max_wait=90, clock=lambda: clock[0], sleep=fake_sleep)

    async def go():
        await limiter.acquire()
        await limiter.acquire()
        await limiter.acquire()  # the minute window is full: sleeps until the first leaves it
        with pytest.raises(CatalogQuotaExhausted) as info:
            await limiter.acquire()  # the day window is full: nearly a day away, so refuse
        return info.value

    error = asyncio.run(go())
    assert slept == [60.0]
    assert "3 requests per day" in str(error) and error.until is not None
    # Another process (a new limiter on the same file) sees the same count.
    again = RateLimiter("openrouter", [RateLimit(3, 86400)], tmp_path / "rl.json", clock=lambda: clock[0])
    with pytest.raises(CatalogQuotaExhausted):
        asyncio.run(again.acquire())
