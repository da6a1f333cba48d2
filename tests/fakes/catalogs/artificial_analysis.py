"""A fake Artificial Analysis data API: LLM models with their evaluations, the media leaderboards."""

from __future__ import annotations

from typing import Any, Dict, List

from .base import EXTRA, FakeCatalogServer, Reply

AA_CATEGORY_KINDS = {"text-to-image", "text-to-video", "image-to-video"}
AA_MEDIA_KINDS = AA_CATEGORY_KINDS | {"image-editing", "text-to-speech"}


class FakeArtificialAnalysis(FakeCatalogServer):
    prefix = "/api/v2"

    def __init__(self, key: str = "aa-test-key") -> None:
        super().__init__()
        self.key = key
        creator = {"id": "e67e56e3-15cd-43db-b679-da4660a69f41", "name": "OpenAI", "slug": "openai"}
        self.models = [
            {"id": "2dad8957-4c16-4e74-bf2d-8b21514e0ae9", "name": "o3-mini", "slug": "o3-mini",
             "model_creator": creator,
             "evaluations": {"artificial_analysis_intelligence_index": 62.9, "gpqa": 0.748, "hle": 0.087},
             "pricing": {"price_1m_blended_3_to_1": 1.925, "price_1m_input_tokens": 1.1,
                         "price_1m_output_tokens": 4.4},
             "median_output_tokens_per_second": 153.831, "median_time_to_first_token_seconds": 14.939,
             "median_time_to_first_answer_token": 14.939},
            {"id": "5b0c3f0e-9a1e-4d8e-8f00-000000000040", "name": "GPT-4o (Nov '24)", "slug": "gpt-4o",
             "model_creator": creator,
             "evaluations": {"artificial_analysis_intelligence_index": 41.3, "gpqa": 0.54, "critpt": 0.014},
             "pricing": {"price_1m_input_tokens": 2.5, "price_1m_output_tokens": 10.0},
             "median_output_tokens_per_second": 110.2, "median_time_to_first_token_seconds": 0.5, **EXTRA},
            {"id": "9c1d2e3f-0000-4000-8000-0000000000a1", "name": "Claude 3.5 Sonnet (Oct '24)",
             "slug": "claude-35-sonnet", "model_creator": {"id": "c-anthropic", "name": "Anthropic",
                                                           "slug": "anthropic"},
             "evaluations": {"artificial_analysis_intelligence_index": 44.0, "CritPt_Score": 0.021},
             "pricing": {"price_1m_input_tokens": 3.0, "price_1m_output_tokens": 15.0},
             "median_output_tokens_per_second": 72.0, "median_time_to_first_token_seconds": 0.9},
        ]

    def rate_limited(self) -> Reply:
        reset = "Wed Jan 01 2031 00:00:00 GMT+0000 (Coordinated Universal Time)"
        return 429, {"Retry-After": "86400", "X-RateLimit-Limit": "1000", "X-RateLimit-Remaining": "0",
                     "X-RateLimit-Reset": reset}, {"error": "Rate limit exceeded", "limit": 1000, "remaining": 0,
                                                   "reset": reset, "retryAfter": 86400}

    def _media(self, kind: str, categories: bool) -> List[Dict[str, Any]]:
        entry: Dict[str, Any] = {"id": f"{kind}-model-1", "name": f"Best {kind}", "slug": f"best-{kind}",
                                 "model_creator": {"id": "openai", "name": "OpenAI"}, "elo": 1250, "rank": 1,
                                 "ci95": "-5/+5", "appearances": 5432, "release_date": "2025-04", **EXTRA}
        if categories:
            entry["categories"] = [{"style_category": "Photorealistic", "subject_matter_category": "People",
                                    "elo": 1280, "ci95": "-5/+5", "appearances": 1234}]
        return [entry]

    def route(self, method: str, path: str, query: Dict[str, str], headers: Dict[str, str], body: Any) -> Reply:
        if headers.get("x-api-key") != self.key:
            return 401, {}, {"error": "Invalid or missing API key"}
        if method == "GET" and path == "/data/llms/models":
            return 200, {}, {"status": 200, "prompt_options": {"parallel_queries": 1, "prompt_length": "medium"},
                             "data": self.models}
        if method == "GET" and path.startswith("/data/media/"):
            kind = path.rsplit("/", 1)[-1]
            if kind not in AA_MEDIA_KINDS:
                return 404, {}, {"error": "Not found"}
            categories = query.get("include_categories") == "true" and kind in AA_CATEGORY_KINDS
            reply: Dict[str, Any] = {"status": 200, "data": self._media(kind, categories)}
            if categories:
                reply["include_categories"] = True
            return 200, {}, reply
        return 404, {}, {"error": "Not found"}
