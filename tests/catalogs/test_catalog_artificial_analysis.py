"""Artificial Analysis client against its fake: endpoints, CritPt score, auth, quota, retries."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from critpt_harness.catalogs.artificial_analysis import ArtificialAnalysisClient as AA
from critpt_harness.catalogs.artificial_analysis import LLMModel
from critpt_harness.catalogs.errors import (CatalogAuthError, CatalogBadRequest, CatalogQuotaExhausted,
                                            CatalogUnavailable)
from critpt_harness.errors import HarnessError


def test_llm_models_typed_with_unknown_fields_kept(call, fakes):
    resp = call(AA, "llm_models")
    assert [m.slug for m in resp.data] == ["o3-mini", "gpt-4o", "claude-35-sonnet"]
    o3 = resp.data[0]
    assert o3.model_creator.slug == "openai"
    assert o3.evaluations["gpqa"] == 0.748 and o3.pricing["price_1m_input_tokens"] == 1.1
    # Undocumented fields survive, both on the item and in the raw reply.
    assert resp.data[1].model_extra["x_unreleased"] == {"note": "a field no document mentions"}
    assert o3.model_extra["median_time_to_first_answer_token"] == 14.939
    assert resp.raw["prompt_options"]["prompt_length"] == "medium"
    assert fakes.aa.requests[0].headers["x-api-key"] == fakes.aa.key
    assert fakes.aa.requests[0].path == "/data/llms/models"


def test_critpt_score_read_leniently(call):
    resp = call(AA, "llm_models")
    scores = resp.critpt_scores()
    by_slug = {m.slug: m.id for m in resp.data}
    assert scores[by_slug["gpt-4o"]].key == "critpt" and scores[by_slug["gpt-4o"]].value == 0.014
    assert scores[by_slug["claude-35-sonnet"]].key == "CritPt_Score"  # another spelling still found
    assert by_slug["o3-mini"] not in scores
    # A key that merely contains "critpt" later in the name is not a CritPt score.
    assert LLMModel(id="x", evaluations={"not_critpt": 0.5}).critpt_score() is None
    assert LLMModel(id="x", evaluations={"crit-pt": 0.3}).critpt_score().value == 0.3


@pytest.mark.parametrize("kind", ["text-to-image", "text-to-video", "image-to-video"])
def test_media_with_categories_where_documented(call, fakes, kind):
    resp = call(AA, "media", kind, include_categories=True)
    assert fakes.aa.requests[-1].query == {"include_categories": "true"}
    assert resp.include_categories is True
    assert resp.data[0].categories[0].elo == 1280


@pytest.mark.parametrize("kind", ["image-editing", "text-to-speech"])
def test_media_without_categories(call, fakes, kind):
    resp = call(AA, "media", kind)
    assert fakes.aa.requests[-1].path == f"/data/media/{kind}" and fakes.aa.requests[-1].query == {}
    assert resp.data[0].elo == 1250 and resp.data[0].categories is None
    with pytest.raises(CatalogBadRequest, match="include_categories is not documented for"):
        call(AA, "media", kind, include_categories=True)
    assert fakes.aa.count() == 1  # refused before any request


def test_unknown_media_kind_is_refused_locally(call, fakes):
    with pytest.raises(CatalogBadRequest, match="unknown media leaderboard"):
        call(AA, "media", "text-to-music")
    assert fakes.aa.count() == 0


def test_bad_key_is_an_auth_error_naming_the_variable(call, fakes, monkeypatch):
    monkeypatch.setenv("ARTIFICIAL_ANALYSIS_API_KEY", "wrong-key")
    with pytest.raises(CatalogAuthError) as info:
        call(AA, "llm_models")
    message = str(info.value)
    assert "ARTIFICIAL_ANALYSIS_API_KEY" in message and "catalog.artificial_analysis.enabled=false" in message
    assert "wrong-key" not in message
    assert isinstance(info.value, HarnessError)
    assert fakes.aa.count() == 1  # a 401 is not retried


def test_daily_quota_429_says_until_when_and_does_not_wait_a_day(call, fakes):
    fakes.aa.budget = 0
    with pytest.raises(CatalogQuotaExhausted) as info:
        call(AA, "llm_models")
    until = info.value.until
    assert until is not None
    assert abs((until - datetime.now(timezone.utc)) - timedelta(seconds=86400)) < timedelta(minutes=1)
    assert "until" in str(info.value)
    assert fakes.aa.count() == 1  # Retry-After of a day is longer than max_retry_after: no retry


def test_server_error_is_retried_then_succeeds(call, fakes):
    fakes.aa.fail_next(500, times=2)
    resp = call(AA, "llm_models")
    assert len(resp.data) == 3 and fakes.aa.count() == 3


def test_server_error_that_persists_is_unavailable(call, fakes):
    fakes.aa.fail_next(500, times=5)
    with pytest.raises(CatalogUnavailable, match="HTTP 500"):
        call(AA, "llm_models")
    assert fakes.aa.count() == 3  # max_attempts in the test config


def test_unreachable_server_names_the_base_url_option(call, cfg, fakes):
    fakes.aa.stop()  # nothing listens there any more
    with pytest.raises(CatalogUnavailable, match=r"catalog\.artificial_analysis\.base_url"):
        call(AA, "llm_models")
