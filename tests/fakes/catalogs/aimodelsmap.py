"""A fake AI Models Map API: cursor pagination, search, compare, rankings, reviews (read-only keys), pricing."""

from __future__ import annotations

import base64
import difflib
import json
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import urlsplit

from .base import EXTRA, FakeCatalogServer, Refuse, Reply

def _aimm_error(code: str, message: str, details: Any = None) -> Dict[str, Any]:
    error: Dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return {"error": error}


def _page(items: List[Any], query: Dict[str, str], default_limit: int = 20) -> Tuple[List[Any], Dict[str, Any]]:
    """Cursor pagination as AI Models Map documents it (opaque base64 cursor)."""
    try:
        limit = int(query.get("limit", default_limit))
    except ValueError:
        raise Refuse(400, _aimm_error("bad_request", "limit must be an integer")) from None
    if not 1 <= limit <= 100:
        raise Refuse(400, _aimm_error("bad_request", "limit must be between 1 and 100"))
    start = 0
    if query.get("cursor"):
        try:
            start = int(json.loads(base64.b64decode(query["cursor"]))["offset"])
        except (ValueError, KeyError, TypeError):
            raise Refuse(400, _aimm_error("bad_request", "invalid cursor")) from None
    chunk = items[start:start + limit]
    more = start + limit < len(items)
    cursor = base64.b64encode(json.dumps({"offset": start + limit}).encode()).decode() if more else None
    return chunk, {"next_cursor": cursor, "has_more": more, "total": len(items)}




class FakeAIModelsMap(FakeCatalogServer):
    prefix = "/v1"

    def __init__(self, key: str = "amm-test-key", n_models: int = 47, read_only_keys: Tuple[str, ...] = ()) -> None:
        super().__init__()
        self.key = key
        self.read_only_keys = set(read_only_keys)
        self.categories: List[Dict[str, Any]] = [
            {"slug": "coding", "name": "Coding", "description": "AI models for software development",
             "display_order": 1, "children": [
                 {"slug": "coding-generation", "name": "Code Generation", "description": None, "display_order": 1,
                  "children": []}]},
            {"slug": "reasoning", "name": "Reasoning", "description": "Hard problems", "display_order": 2,
             "children": []},
        ]
        anthropic = {"name": "Anthropic", "slug": "anthropic"}
        openai = {"name": "OpenAI", "slug": "openai"}
        self.models: List[Dict[str, Any]] = [
            self._model("claude-3-5-sonnet", "Claude 3.5 Sonnet", anthropic, 94.2, ["coding", "reasoning"],
                        ["claude-3.5-sonnet", "sonnet-3.5"]),
            self._model("gpt-4o", "GPT-4o", openai, 90.1, ["coding", "reasoning"], ["gpt4o"]),
            self._model("o3-mini", "o3-mini", openai, 88.0, ["reasoning"], []),
        ]
        for i in range(max(0, n_models - len(self.models))):
            self.models.append(self._model(f"filler-model-{i:03d}", f"Filler Model {i:03d}",
                                           {"name": "Acme", "slug": "acme"}, 50.0 - i * 0.5,
                                           ["coding"] if i % 2 else ["reasoning"], []))
        self.reviews: Dict[str, List[Dict[str, Any]]] = {
            "claude-3-5-sonnet": [{"id": f"rev_{i}", "author_name": f"user{i}", "rating": 5 - i % 3,
                                   "title": None, "body": "Solid model for physics derivations.",
                                   "use_case": None, "verified": i % 2 == 0, "helpful_count": i,
                                   "created_at": "2026-02-20T14:30:00Z"} for i in range(7)]}

    @staticmethod
    def _model(slug: str, name: str, provider: Dict[str, str], score: float, cats: List[str],
               aliases: List[str]) -> Dict[str, Any]:
        return {"slug": slug, "name": name, "description": None, "model_type": "large-language-model",
                "status": "active", "provider": provider, "score": score, "quality_rank": None,
                "adoption_rank": None, "state": "stable", "context_window": 128000,
                "_categories": cats, "_aliases": aliases, **EXTRA}

    @staticmethod
    def _public(model: Dict[str, Any]) -> Dict[str, Any]:
        return {k: v for k, v in model.items() if not k.startswith("_")}

    def _find(self, slug: str) -> Dict[str, Any]:
        model = next((m for m in self.models if m["slug"] == slug), None)
        if model is None:
            raise Refuse(404, _aimm_error("not_found", "Resource not found."))
        return model

    def _all_category_slugs(self) -> List[str]:
        out, stack = [], list(self.categories)
        while stack:
            node = stack.pop()
            out.append(node["slug"])
            stack.extend(node["children"])
        return out

    def _check(self, name: str, value: Optional[str], allowed: Tuple[str, ...]) -> None:
        if value is not None and value not in allowed:
            raise Refuse(400, _aimm_error("bad_request", f"Invalid {name}"))

    def counts_against_budget(self, path: str) -> bool:
        return not path.startswith("/health")

    def rate_limited(self) -> Reply:
        return 429, {}, _aimm_error("rate_limited", "Daily rate limit exceeded.")

    def dispatch(self, method: str, target: str, headers: Dict[str, str], raw: bytes) -> Reply:
        # Everything lives under /v1 except /health and /health/pipelines at the host root.
        path = urlsplit(target).path
        if not (path.startswith("/v1/") or path == "/v1" or path.startswith("/health")):
            return 404, {}, _aimm_error("not_found", "Resource not found.")
        return super().dispatch(method, target, headers, raw)

    def route(self, method: str, path: str, query: Dict[str, str], headers: Dict[str, str], body: Any) -> Reply:
        if path == "/health":
            return 200, {}, {"status": "ok", "timestamp": "2026-02-25T18:00:00Z", "version": "1.0.0",
                             "services": {"database": "healthy", "redis": "healthy"}}
        if path == "/health/pipelines":
            return 200, {}, {"status": "all_healthy", "summary": {"total": 1, "healthy": 1, "unhealthy": 0},
                             "pipelines": [{"source_name": "chatbot-arena", "source_type": "benchmark",
                                            "status": "healthy", "last_success_at": "2026-02-25T17:45:00Z",
                                            "last_failure_at": None, "last_error": None, "avg_latency_ms": 420,
                                            "success_rate": 0.99, "checked_at": "2026-02-25T18:00:00Z"}]}
        key = headers.get("x-api-key")
        if key not in {self.key, *self.read_only_keys}:
            return 401, {}, _aimm_error("unauthorized", "Missing or invalid API key.")
        seg = [s for s in path.split("/") if s]
        if method == "POST":
            return self._post(seg, key, body)
        if seg == ["models"]:
            return self._models(query)
        if seg == ["models", "search"]:
            return self._search(query)
        if seg == ["models", "compare"]:
            return self._compare(query)
        if len(seg) >= 2 and seg[0] == "models":
            return self._model_routes(seg, query)
        if seg == ["categories"]:
            return 200, {}, {"data": self.categories}
        if len(seg) == 2 and seg[0] == "categories":
            return self._category(seg[1])
        if len(seg) >= 2 and seg[0] == "rankings":
            return self._rankings(seg, query)
        return 404, {}, _aimm_error("not_found", "Resource not found.")

    def _models(self, query: Dict[str, str]) -> Reply:
        self._check("status", query.get("status"), ("active", "deprecated", "preview", "retired"))
        self._check("sort_by", query.get("sort_by"), ("score", "name", "rank", "trending"))
        self._check("sort_order", query.get("sort_order"), ("asc", "desc"))
        items = [m for m in self.models
                 if query.get("category") in (None, *m["_categories"])
                 and query.get("provider") in (None, m["provider"]["slug"])
                 and query.get("status") in (None, m["status"])
                 and (not query.get("search") or query["search"].lower() in (m["name"] + " " + " ".join(
                     m["_aliases"])).lower())]
        field_name = "name" if query.get("sort_by") == "name" else "score"
        items.sort(key=lambda m: m[field_name], reverse=query.get("sort_order", "desc") == "desc")
        chunk, pagination = _page(items, query)
        return 200, {}, {"data": [self._public(m) for m in chunk], "pagination": pagination}

    def _search(self, query: Dict[str, str]) -> Reply:
        q = query.get("q", "").strip().lower()
        if not q:
            raise Refuse(400, _aimm_error("bad_request", "q is required"))
        limit = int(query.get("limit", 20))

        def closeness(m: Dict[str, Any]) -> float:
            names = [m["name"].lower(), m["slug"], *m["_aliases"]]
            return max(difflib.SequenceMatcher(None, q, n).ratio() for n in names)

        ranked = sorted(self.models, key=closeness, reverse=True)
        hits = [m for m in ranked if closeness(m) >= 0.6][:limit]
        data = [{"slug": m["slug"], "name": m["name"], "provider": m["provider"]["name"], "score": m["score"]}
                for m in hits]
        return 200, {}, {"data": data, "query": query.get("q"), "count": len(data)}

    def _compare(self, query: Dict[str, str]) -> Reply:
        slugs = [s for s in query.get("slugs", "").split(",") if s]
        if not 2 <= len(slugs) <= 4:
            raise Refuse(400, _aimm_error("bad_request", "Provide 2 to 4 slugs"))
        found = [m for m in self.models if m["slug"] in slugs]
        data = [{"model": {k: m[k] for k in ("slug", "name", "description", "model_type", "provider",
                                             "context_window")} | {"release_date": None},
                 "scores": [{"category": c, "score": m["score"], "quality_rank": 1, "adoption_rank": 1,
                             "state": "stable"} for c in m["_categories"]],
                 "pricing": None, "categories": m["_categories"]} for m in found]
        return 200, {}, {"data": data, "slugs_requested": slugs, "slugs_found": [m["slug"] for m in found]}

    def _model_routes(self, seg: List[str], query: Dict[str, str]) -> Reply:
        model = self._find(seg[1])
        slug = model["slug"]
        if len(seg) == 2:
            detail = {**self._public(model), "release_date": "2025-06-20", "aliases": model["_aliases"],
                      "categories": [{"slug": c, "name": c.title()} for c in model["_categories"]],
                      "scores": [{"category": c, "score": model["score"], "quality_rank": 1, "adoption_rank": 3,
                                  "state": "stable", "recorded_at": "2026-02-25T18:00:00Z"}
                                 for c in model["_categories"]],
                      "pricing": {"input_price_per_million": 3, "output_price_per_million": 15, "image_price": None,
                                  "video_price_per_minute": None, "updated_at": "2025-11-01"},
                      "created_at": "2025-06-20T00:00:00Z", "updated_at": "2026-02-25T18:00:00Z"}
            return 200, {}, {"data": detail}
        if seg[2:] == ["scores"]:
            self._check("granularity", query.get("granularity"), ("daily", "weekly"))
            points = [{"score": model["score"], "quality_rank": 1, "adoption_rank": 3, "state": "stable",
                       "rank_spread": {"low": 1, "high": 2}, "confidence": 0.92,
                       "category": query.get("category", c), "recorded_at": "2026-02-25T18:00:00Z"}
                      for c in model["_categories"]]
            return 200, {}, {"data": points, "model": slug, "granularity": query.get("granularity", "daily"),
                             "count": len(points)}
        if seg[2:] == ["signals"]:
            self._check("signalType", query.get("signalType"),
                        ("demand", "usage", "quality", "cost", "trust", "social", "expert"))
            sig = {"id": "sig_1", "signal_type": query.get("signalType", "quality"), "source": "chatbot-arena",
                   "raw_value": 1410, "normalized_value": 0.94, "recorded_at": "2026-02-25T12:00:00Z",
                   "metadata": {"benchmark": "MMLU"}}
            return 200, {}, {"data": [sig], "model": slug, "count": 1}
        if seg[2:] == ["reviews"]:
            self._check("sortBy", query.get("sortBy"), ("recent", "helpful", "rating_high", "rating_low"))
            reviews = self.reviews.get(slug, [])
            chunk, pagination = _page(reviews, query)
            dist = {str(r): sum(1 for x in reviews if x["rating"] == r) for r in range(1, 6)}
            summary = {"average_rating": sum(r["rating"] for r in reviews) / len(reviews) if reviews else 0,
                       "total_reviews": len(reviews), "rating_distribution": dist}
            return 200, {}, {"data": chunk, "summary": summary, "model": slug, "pagination": pagination}
        if seg[2:] == ["pricing"]:
            current = {"model": {"slug": slug, "name": model["name"], "provider": model["provider"]["name"]},
                       "input_price_per_million": 3, "output_price_per_million": 15, "image_price": None,
                       "video_price_per_minute": None, "free_tier_available": True, "free_tier_limits": None,
                       "source": "official", "updated_at": "2025-11-01"}
            return 200, {}, {"data": {"current": current, "history": []}}
        raise Refuse(404, _aimm_error("not_found", "Resource not found."))

    def _category(self, slug: str) -> Reply:
        node = next((c for c in self.categories if c["slug"] == slug), None)
        if node is None:
            raise Refuse(404, _aimm_error("not_found", "Resource not found."))
        count = sum(1 for m in self.models if slug in m["_categories"])
        return 200, {}, {"data": {"slug": slug, "name": node["name"], "description": node["description"],
                                  "parent": None, "children": [{"slug": c["slug"], "name": c["name"],
                                                                "display_order": c["display_order"]}
                                                               for c in node["children"]],
                                  "model_count": count, "display_order": node["display_order"],
                                  "created_at": "2025-01-01T00:00:00Z"}}

    def _rankings(self, seg: List[str], query: Dict[str, str]) -> Reply:
        category = seg[1]
        if category not in self._all_category_slugs():
            raise Refuse(404, _aimm_error("not_found", "Resource not found."))
        ranked = sorted((m for m in self.models if category in m["_categories"]), key=lambda m: -m["score"])
        short = lambda m: {"slug": m["slug"], "name": m["name"]}  # noqa: E731
        if len(seg) == 2:
            entries = [{"rank": i + 1, "model": {**short(m), "provider": m["provider"]}, "score": m["score"],
                        "quality_rank": i + 1, "adoption_rank": i + 1, "rank_spread": None, "state": "stable",
                        "confidence": 0.9, "change_24h": 0, "change_7d": 0, "top_drivers": ["quality"],
                        "recorded_at": "2026-02-25T18:00:00Z", **EXTRA} for i, m in enumerate(ranked)]
            chunk, pagination = _page(entries, query)
            return 200, {}, {"data": chunk, "category": category, "pagination": pagination}
        if seg[2:] == ["history"]:
            data = [{"model": short(m), "score": m["score"], "quality_rank": i + 1, "adoption_rank": i + 1,
                     "state": "stable", "recorded_at": "2026-02-25T18:00:00Z"} for i, m in enumerate(ranked)
                    if query.get("modelSlug") in (None, m["slug"])]
            return 200, {}, {"data": data, "category": category, "count": len(data)}
        if seg[2:] == ["movers"]:
            self._check("period", query.get("period"), ("24h", "7d", "30d"))
            top = ranked[0]
            mover = {"model": {**short(top), "provider": top["provider"]["name"]}, "current_score": top["score"],
                     "previous_score": top["score"] - 1.4, "score_change": 1.4, "current_rank": 1,
                     "previous_rank": 2, "rank_change": 1, "direction": "up"}
            return 200, {}, {"data": {"gainers": [mover], "losers": []}, "category": category,
                             "period": query.get("period", "7d")}
        raise Refuse(404, _aimm_error("not_found", "Resource not found."))

    def _post(self, seg: List[str], key: Optional[str], body: Any) -> Reply:
        body = body if isinstance(body, dict) else {}
        if seg == ["pricing", "calculate"]:
            usage = {k: body.get(k) for k in ("monthlyTokens", "monthlyImages", "monthlyVideoMinutes")}
            if all(v is None for v in usage.values()):
                raise Refuse(400, _aimm_error("bad_request", "At least one usage metric is required."))
            tokens = float(usage["monthlyTokens"] or 0)
            data = [{"model": {"slug": "gpt-4o", "name": "GPT-4o", "provider": "OpenAI"},
                     "estimated_monthly_cost": tokens / 1e6 * 4.5,
                     "breakdown": {"input_cost": tokens / 1e6 * 2.5, "output_cost": tokens / 1e6 * 2.0},
                     "pricing": {"input_price_per_million": 2.5, "output_price_per_million": 10}}]
            return 200, {}, {"data": data, "usage": {"monthly_tokens": tokens,
                                                     "monthly_images": usage["monthlyImages"] or 0,
                                                     "monthly_video_minutes": usage["monthlyVideoMinutes"] or 0},
                             "count": 1}
        if len(seg) == 3 and seg[0] == "models" and seg[2] == "reviews":
            model = self._find(seg[1])
            if key in self.read_only_keys:
                raise Refuse(403, _aimm_error("forbidden", "Your plan does not allow write access."))
            problems = {}
            if not isinstance(body.get("rating"), int) or not 1 <= body["rating"] <= 5:
                problems["rating"] = "must be an integer 1-5"
            if not isinstance(body.get("body"), str) or not 10 <= len(body["body"]) <= 5000:
                problems["body"] = "must be 10-5000 characters"
            if not isinstance(body.get("authorName"), str) or not 1 <= len(body["authorName"]) <= 100:
                problems["authorName"] = "must be 1-100 characters"
            if problems:
                raise Refuse(400, _aimm_error("bad_request", "Invalid review data.", problems))
            review = {"id": f"rev_new{len(self.requests)}", "author_name": body["authorName"],
                      "rating": body["rating"], "title": body.get("title"), "body": body["body"],
                      "use_case": body.get("useCase"), "verified": False, "helpful_count": 0,
                      "created_at": "2026-02-25T19:00:00Z"}
            self.reviews.setdefault(model["slug"], []).insert(0, review)
            return 200, {}, {"data": review}
        raise Refuse(404, _aimm_error("not_found", "Resource not found."))
