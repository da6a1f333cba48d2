"""Fake servers for the four catalog APIs, written from the documents in
``../shared/api-docs/``: real HTTP on 127.0.0.1 (port 0), the documented
paths, auth headers, status codes, pagination and cache/rate-limit headers.

Every fake records the requests it served (``requests``, ``count()``), can be
told to fail the next requests (``fail_next``), and has an optional request
budget that answers 429 the way its API does. Data items carry a field no
document mentions (``x_unreleased``) so clients are seen to keep unknown fields.

    with FakeCatalogs() as fakes:
        cfg = fakes.config(tmp_path)      # CatalogConfig pointing at the fakes
        os.environ.update(fakes.env())    # the keys, under the default variable names
"""

from __future__ import annotations

import base64
import difflib
import email.utils
import json
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import parse_qsl, unquote, urlsplit

from ..config.catalog import CatalogConfig, CatalogRetryConfig
from . import servers

Reply = Tuple[int, Dict[str, str], Any]  # status, headers, body (dict/list -> JSON, str -> text)
EXTRA = {"x_unreleased": {"note": "a field no document mentions"}}


@dataclass
class Recorded:
    method: str
    path: str
    query: Dict[str, str]
    headers: Dict[str, str]  # lower-cased names
    body: Any = None


@dataclass
class _Failure:
    status: int
    path_prefix: Optional[str]
    headers: Dict[str, str] = field(default_factory=dict)
    body: Any = None


class FakeServer(servers.FakeServer):
    """The shared loopback server (critpt_harness.testing.servers) answering in
    one API's terms; subclasses implement :meth:`route`."""

    prefix = ""  # the API's path prefix, e.g. "/api/v2"

    def __init__(self) -> None:
        super().__init__()
        self.requests: List[Recorded] = []  # type: ignore[assignment]  # recorded by dispatch()
        self._failures: List[_Failure] = []
        # Requests answered before the fake starts refusing with its API's 429 (None = no budget).
        self.budget: Optional[int] = None

    def _take_fault(self, req: servers.Request) -> None:
        return None  # dispatch() records the request and applies fail_next()

    async def respond(self, req: servers.Request) -> servers.Reply:
        status, headers, body = self.dispatch(req.method, req.target, req.headers, req.body)
        if body is None or status == 304:
            return servers.Reply(status=status, headers=headers, raw=b"")
        if isinstance(body, (dict, list)):
            return servers.Reply(status=status, headers=headers, payload=body)
        return servers.Reply(status=status, headers=headers, raw=str(body).encode(),
                             content_type="text/plain; charset=utf-8")

    @property
    def origin(self) -> str:
        return self.root

    @property
    def base_url(self) -> str:
        return self.origin + self.prefix

    # Test controls -------------------------------------------------------------------------
    def count(self, path: Optional[str] = None) -> int:
        """Requests served, optionally only those whose path (without prefix) starts with ``path``."""
        with self._lock:
            return sum(1 for r in self.requests if path is None or r.path.startswith(path))

    def fail_next(self, status: int, path: Optional[str] = None, times: int = 1,
                  headers: Optional[Dict[str, str]] = None, body: Any = None) -> None:
        """Answer the next ``times`` requests (to ``path`` if given) with ``status``."""
        with self._lock:
            for _ in range(times):
                self._failures.append(_Failure(status, path, dict(headers or {}), body))

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self._failures.clear()

    # Dispatch ---------------------------------------------------------------------------------
    def dispatch(self, method: str, target: str, headers: Dict[str, str], raw: bytes) -> Reply:
        parts = urlsplit(target)
        path = unquote(parts.path)
        if self.prefix and path.startswith(self.prefix):
            path = path[len(self.prefix):] or "/"
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        lowered = {k.lower(): v for k, v in headers.items()}
        body = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
        with self._lock:
            self.requests.append(Recorded(method, path, query, lowered, body))
            served = len(self.requests)
            failure = next((f for f in self._failures if f.path_prefix is None or path.startswith(f.path_prefix)),
                           None)
            if failure is not None:
                self._failures.remove(failure)
        if failure is not None:
            return failure.status, dict(failure.headers), failure.body if failure.body is not None else {
                "error": f"injected {failure.status}"}
        if self.budget is not None and served > self.budget and self.counts_against_budget(path):
            return self.rate_limited()
        try:
            return self.route(method, path, query, lowered, body)
        except _Refuse as refuse:
            return refuse.reply

    def counts_against_budget(self, path: str) -> bool:
        return True

    def rate_limited(self) -> Reply:
        return 429, {}, {"error": "Rate limit exceeded"}

    def route(self, method: str, path: str, query: Dict[str, str], headers: Dict[str, str], body: Any) -> Reply:
        raise NotImplementedError


class _Refuse(Exception):
    def __init__(self, status: int, body: Any, headers: Optional[Dict[str, str]] = None):
        self.reply: Reply = (status, dict(headers or {}), body)


def _page(items: List[Any], query: Dict[str, str], default_limit: int = 20) -> Tuple[List[Any], Dict[str, Any]]:
    """Cursor pagination as AI Models Map documents it (opaque base64 cursor)."""
    try:
        limit = int(query.get("limit", default_limit))
    except ValueError:
        raise _Refuse(400, _aimm_error("bad_request", "limit must be an integer")) from None
    if not 1 <= limit <= 100:
        raise _Refuse(400, _aimm_error("bad_request", "limit must be between 1 and 100"))
    start = 0
    if query.get("cursor"):
        try:
            start = int(json.loads(base64.b64decode(query["cursor"]))["offset"])
        except (ValueError, KeyError, TypeError):
            raise _Refuse(400, _aimm_error("bad_request", "invalid cursor")) from None
    chunk = items[start:start + limit]
    more = start + limit < len(items)
    cursor = base64.b64encode(json.dumps({"offset": start + limit}).encode()).decode() if more else None
    return chunk, {"next_cursor": cursor, "has_more": more, "total": len(items)}


# Artificial Analysis ---------------------------------------------------------------------------
AA_CATEGORY_KINDS = {"text-to-image", "text-to-video", "image-to-video"}
AA_MEDIA_KINDS = AA_CATEGORY_KINDS | {"image-editing", "text-to-speech"}


class FakeArtificialAnalysis(FakeServer):
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


# OpenRouter -----------------------------------------------------------------------------------------
class FakeOpenRouter(FakeServer):
    prefix = "/api/v1"

    def __init__(self, key: str = "sk-or-test-key", per_minute: Optional[int] = None) -> None:
        super().__init__()
        self.key = key
        self.per_minute = per_minute  # documented: 30 per minute per key
        self._minute: List[float] = []
        self.aa: List[Dict[str, Any]] = [
            {"agentic_index": 58.3, "coding_index": 65.8, "display_name": "GPT-4o", "intelligence_index": 71.2,
             "model_permaslug": "openai/gpt-4o", "pricing": {"completion": "0.00001", "prompt": "0.0000025"},
             "source": "artificial-analysis", **EXTRA},
            {"agentic_index": 40.1, "coding_index": 70.2, "display_name": "Claude 3.5 Sonnet",
             "intelligence_index": 66.0, "model_permaslug": "anthropic/claude-3.5-sonnet",
             "pricing": {"completion": "0.000015", "prompt": "0.000003"}, "source": "artificial-analysis"},
            {"coding_index": 30.0, "display_name": "Llama 3.1 70B Instruct", "intelligence_index": 40.0,
             "model_permaslug": "meta-llama/llama-3.1-70b-instruct", "source": "artificial-analysis"},
        ]
        self.design_arena = [
            {"model_permaslug": "openai/gpt-4o", "display_name": "GPT-4o", "elo": 1180, "arena": "models",
             "category": "uicomponent", "source": "design-arena"},
            {"model_permaslug": "anthropic/claude-3.5-sonnet", "display_name": "Claude 3.5 Sonnet", "elo": 1240,
             "arena": "builders", "category": "gamedev", "source": "design-arena"},
        ]

    def _refuse(self, status: int, message: str) -> Reply:
        return status, {}, {"error": {"code": status, "message": message}}

    def route(self, method: str, path: str, query: Dict[str, str], headers: Dict[str, str], body: Any) -> Reply:
        if headers.get("authorization") != f"Bearer {self.key}":
            return self._refuse(401, "No auth credentials found")
        if self.per_minute is not None:
            now = time.monotonic()
            self._minute = [t for t in self._minute if now - t < 60] + [now]
            if len(self._minute) > self.per_minute:
                return self._refuse(429, "Rate limit exceeded: 30 requests per minute")
        if method != "GET" or path != "/benchmarks":
            return self._refuse(404, "Not Found")
        source, task, arena = query.get("source"), query.get("task_type"), query.get("arena")
        for name, value, allowed in (("source", source, ("artificial-analysis", "design-arena")),
                                     ("task_type", task, ("coding", "intelligence", "agentic")),
                                     ("arena", arena, ("models", "builders", "agents"))):
            if value is not None and value not in allowed:
                return self._refuse(400, f"Invalid {name}")
        items: List[Dict[str, Any]] = []
        if source in (None, "artificial-analysis"):
            aa = self.aa
            if task:
                aa = sorted((i for i in aa if i.get(f"{task}_index") is not None),
                            key=lambda i: -i[f"{task}_index"])
            items += aa
        if source in (None, "design-arena"):
            da = [i for i in self.design_arena if i["arena"] == (arena or "models")
                  and (query.get("category") in (None, i["category"]))]
            items += da
        if "max_results" in query:
            try:
                n = int(query["max_results"])
            except ValueError:
                return self._refuse(400, "max_results must be an integer")
            if n < 1:
                return self._refuse(400, "max_results must be >= 1")
            items = items[:n]
        citation = {"artificial-analysis": "Source: Artificial Analysis (artificialanalysis.ai) via OpenRouter "
                                           "(openrouter.ai/rankings).",
                    "design-arena": "Source: Design Arena (designarena.ai) via OpenRouter."}.get(source or "")
        meta = {"as_of": "2026-06-03T12:00:00Z", "citation": citation, "model_count": len(items),
                "source": source, "source_url": "https://artificialanalysis.ai" if source == "artificial-analysis"
                else None, "task_type": task, "version": "v1", "x_unreleased_meta": 1}
        return 200, {}, {"data": items, "meta": meta}


# LLM Registry ----------------------------------------------------------------------------------------
class FakeLLMRegistry(FakeServer):
    prefix = "/api/v1"

    def __init__(self, max_age: int = 300, per_minute: Optional[int] = None) -> None:
        super().__init__()
        self.max_age = max_age
        self.per_minute = per_minute  # Cloudflare's 100/min per IP: 429 without headers
        self._minute: List[float] = []
        self.last_modified = time.time() - 3600
        self.models = [
            {"id": "gpt-4o", "name": "GPT-4o", "provider": "OpenAI", "family": "gpt-4o", "status": "active",
             "releaseDate": "2024-05-13", "capabilities": ["text", "vision", "tools"], "isOpenSource": False,
             "specs": {"contextWindow": 128000}, "apiSupport": {"reasoning": False, "vision": True},
             "coverage": 80.0, **EXTRA},
            {"id": "claude-3-5-sonnet-20241022", "name": "Claude 3.5 Sonnet", "provider": "Anthropic",
             "family": "claude-sonnet", "status": "active", "releaseDate": "2024-10-22",
             "capabilities": ["text", "vision", "tools"], "isOpenSource": False,
             "apiSupport": {"reasoning": False, "vision": True}, "coverage": 85.2},
            {"id": "o3-mini", "name": "o3-mini", "provider": "OpenAI", "family": "o-series", "status": "active",
             "capabilities": ["text", "tools"], "isOpenSource": False, "apiSupport": {"reasoning": True}},
            {"id": "llama-3-1-70b", "name": "Llama 3.1 70B", "provider": "Meta", "family": "llama",
             "status": "active", "capabilities": ["text"], "isOpenSource": True, "apiSupport": {"reasoning": False}},
        ]
        self.benchmarks = [
            {"id": "mmlu", "name": "MMLU", "category": "Knowledge", "maxScore": 100, "normalizeMethod": "max"},
            {"id": "gpqa", "name": "GPQA Diamond", "category": "Reasoning", "maxScore": 100,
             "normalizeMethod": "max"},
            {"id": "critpt", "name": "CritPt", "category": "Reasoning", "maxScore": 100, "normalizeMethod": "max"},
            {"id": "aime", "name": "AIME", "category": "Math", "maxScore": 100, "normalizeMethod": "max", **EXTRA},
        ]
        self.scores = [
            self._score("gpt-4o", "GPT-4o", "mmlu", "Knowledge", 88.7, "openai"),
            self._score("gpt-4o", "GPT-4o", "critpt", "Reasoning", 1.4, "artificial-analysis"),
            self._score("claude-3-5-sonnet-20241022", "Claude 3.5 Sonnet", "gpqa", "Reasoning", 59.4, "anthropic"),
            self._score("o3-mini", "o3-mini", "aime", "Math", 77.0, "artificial-analysis"),
            self._score("o3-mini", "o3-mini", "gpqa", "Reasoning", 74.8, "artificial-analysis"),
        ]
        self.categories = ["Knowledge", "Reasoning", "Math"]

    @staticmethod
    def _score(mid: str, name: str, bid: str, cat: str, score: float, source: str) -> Dict[str, Any]:
        return {"modelId": mid, "modelName": name, "benchmarkId": bid, "benchmarkName": bid.upper(),
                "category": cat, "score": score, "normalizedScore": score, "verified": True,
                "verificationLevel": "third_party", "sourceId": source, "asOfDate": "2025-01-01"}

    def touch(self) -> None:
        """A new score arrived: Last-Modified moves on."""
        self.last_modified = time.time()

    def counts_against_budget(self, path: str) -> bool:
        return True

    def rate_limited(self) -> Reply:
        return 429, {}, "error code: 1015"  # Cloudflare: no rate-limit headers

    def _attribution(self) -> Dict[str, Any]:
        return {"name": "LLM Registry", "url": "https://llm-registry.com",
                "note": "Scores with sourceId artificial-analysis are from artificialanalysis.ai"}

    def _leaderboard(self, slug: str) -> Optional[Dict[str, Any]]:
        cats = {c.lower(): c for c in self.categories}
        if slug != "all" and slug not in cats:
            return None
        rows: Dict[str, List[float]] = {}
        names = {}
        for s in self.scores:
            if slug == "all" or s["category"].lower() == slug:
                rows.setdefault(s["modelId"], []).append(s["normalizedScore"])
                names[s["modelId"]] = s["modelName"]
        ranked = sorted(rows.items(), key=lambda kv: -sum(kv[1]) / len(kv[1]))
        board = [{"rank": i + 1, "modelId": mid, "modelName": names[mid], "provider": None,
                  "average": sum(v) / len(v), "coverage": 50.0, "scoreCount": len(v)}
                 for i, (mid, v) in enumerate(ranked)]
        return {"category": cats.get(slug, "All"), "categorySlug": slug,
                "benchmarkCount": len({s["benchmarkId"] for s in self.scores}), "leaderboard": board}

    def _content(self, path: str, query: Dict[str, str]) -> Any:
        if path in ("/", ""):
            return {"apiVersion": "v1", "endpoints": {"models": "/api/v1/models"}, "attribution": self._attribution()}
        if path == "/meta":
            return {"apiVersion": "v1", "generatedAt": "2026-02-19T00:00:00Z", "latestScoreDate": "2026-02-16",
                    "counts": {"models": len(self.models), "benchmarks": len(self.benchmarks),
                               "categories": len(self.categories), "sources": 5},
                    "categories": self.categories, "endpoints": ["/api/v1/models"], **EXTRA}
        if path == "/models":
            # Static file: limit/offset are client-side only, so the whole list comes back.
            return {"total": len(self.models), "offset": 0, "limit": len(self.models), "models": self.models}
        if path.startswith("/models/"):
            rest = path[len("/models/"):]
            mid = rest[:-5] if rest.endswith(".json") else rest
            model = next((m for m in self.models if m["id"] == mid), None)
            if model is None:
                return None
            if rest.endswith(".json"):
                return {k: model[k] for k in ("id", "name", "provider", "family", "status") if k in model}
            scores = {s["benchmarkId"]: {"score": s["score"], "sourceId": s["sourceId"]}
                      for s in self.scores if s["modelId"] == mid}
            return {"model": {**model, "scores": scores}}
        if path == "/benchmarks":
            return {"total": len(self.benchmarks), "categories": self.categories, "benchmarks": self.benchmarks}
        if path == "/scores":
            return {"total": len(self.scores), "scores": self.scores}
        if path.startswith("/leaderboards/"):
            return self._leaderboard(path.rsplit("/", 1)[-1])
        if path == "/export":
            if query.get("format") == "csv":
                cols = ["modelId", "modelName", "benchmarkId", "category", "score", "sourceId"]
                lines = [",".join(cols)] + [",".join(str(s[c]) for c in cols) for s in self.scores]
                return "\n".join(lines) + "\n"
            return {"total": len(self.scores), "exportedAt": "2026-02-19T00:00:00Z", "filters": {},
                    "scores": self.scores, "attribution": self._attribution()}
        return None

    def route(self, method: str, path: str, query: Dict[str, str], headers: Dict[str, str], body: Any) -> Reply:
        if self.per_minute is not None:
            now = time.monotonic()
            self._minute = [t for t in self._minute if now - t < 60] + [now]
            if len(self._minute) > self.per_minute:
                return self.rate_limited()
        content = self._content(path, query) if method == "GET" else None
        if content is None:
            return 404, {"Content-Type": "text/html"}, "<html><body>404 Not Found</body></html>"
        modified = int(self.last_modified)
        headers_out = {"Cache-Control": f"public, max-age={self.max_age}",
                       "Last-Modified": email.utils.formatdate(modified, usegmt=True)}
        if isinstance(content, str):
            headers_out["Content-Type"] = "text/csv; charset=utf-8"
        since = headers.get("if-modified-since")
        if since:
            try:
                when = email.utils.parsedate_to_datetime(since).timestamp()
            except (TypeError, ValueError):
                when = None
            if when is not None and modified <= when:
                return 304, headers_out, None
        return 200, headers_out, content


# AI Models Map ---------------------------------------------------------------------------------------
def _aimm_error(code: str, message: str, details: Any = None) -> Dict[str, Any]:
    error: Dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return {"error": error}


class FakeAIModelsMap(FakeServer):
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
            raise _Refuse(404, _aimm_error("not_found", "Resource not found."))
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
            raise _Refuse(400, _aimm_error("bad_request", f"Invalid {name}"))

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
            raise _Refuse(400, _aimm_error("bad_request", "q is required"))
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
            raise _Refuse(400, _aimm_error("bad_request", "Provide 2 to 4 slugs"))
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
        raise _Refuse(404, _aimm_error("not_found", "Resource not found."))

    def _category(self, slug: str) -> Reply:
        node = next((c for c in self.categories if c["slug"] == slug), None)
        if node is None:
            raise _Refuse(404, _aimm_error("not_found", "Resource not found."))
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
            raise _Refuse(404, _aimm_error("not_found", "Resource not found."))
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
        raise _Refuse(404, _aimm_error("not_found", "Resource not found."))

    def _post(self, seg: List[str], key: Optional[str], body: Any) -> Reply:
        body = body if isinstance(body, dict) else {}
        if seg == ["pricing", "calculate"]:
            usage = {k: body.get(k) for k in ("monthlyTokens", "monthlyImages", "monthlyVideoMinutes")}
            if all(v is None for v in usage.values()):
                raise _Refuse(400, _aimm_error("bad_request", "At least one usage metric is required."))
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
                raise _Refuse(403, _aimm_error("forbidden", "Your plan does not allow write access."))
            problems = {}
            if not isinstance(body.get("rating"), int) or not 1 <= body["rating"] <= 5:
                problems["rating"] = "must be an integer 1-5"
            if not isinstance(body.get("body"), str) or not 10 <= len(body["body"]) <= 5000:
                problems["body"] = "must be 10-5000 characters"
            if not isinstance(body.get("authorName"), str) or not 1 <= len(body["authorName"]) <= 100:
                problems["authorName"] = "must be 1-100 characters"
            if problems:
                raise _Refuse(400, _aimm_error("bad_request", "Invalid review data.", problems))
            review = {"id": f"rev_new{len(self.requests)}", "author_name": body["authorName"],
                      "rating": body["rating"], "title": body.get("title"), "body": body["body"],
                      "use_case": body.get("useCase"), "verified": False, "helpful_count": 0,
                      "created_at": "2026-02-25T19:00:00Z"}
            self.reviews.setdefault(model["slug"], []).insert(0, review)
            return 200, {}, {"data": review}
        raise _Refuse(404, _aimm_error("not_found", "Resource not found."))


# All four at once ------------------------------------------------------------------------------------
class FakeCatalogs:
    """The four fakes, started together, plus a CatalogConfig that points at them."""

    def __init__(self) -> None:
        self.aa = FakeArtificialAnalysis()
        self.openrouter = FakeOpenRouter()
        self.llm_registry = FakeLLMRegistry()
        self.aimodelsmap = FakeAIModelsMap()

    @property
    def all(self) -> Dict[str, FakeServer]:
        return {"artificial_analysis": self.aa, "openrouter": self.openrouter,
                "llm_registry": self.llm_registry, "aimodelsmap": self.aimodelsmap}

    def __enter__(self) -> "FakeCatalogs":
        for fake in self.all.values():
            fake.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        for fake in self.all.values():
            fake.stop()

    def total_requests(self) -> int:
        return sum(f.count() for f in self.all.values())

    def env(self) -> Dict[str, str]:
        """The keys under the default variable names of CatalogConfig."""
        return {"ARTIFICIAL_ANALYSIS_API_KEY": self.aa.key, "OPENROUTER_API_KEY": self.openrouter.key,
                "AIMODELSMAP_API_KEY": self.aimodelsmap.key}

    def config(self, cache_dir: Any, shared_dir: Any = "runs/catalog") -> CatalogConfig:
        """Fast settings for tests: tiny retry waits, short limiter waits."""
        cfg = CatalogConfig(cache_dir=str(cache_dir), shared_dir=str(shared_dir), max_limiter_wait=1.0,
                            retry=CatalogRetryConfig(max_attempts=3, initial_wait=0.01, max_wait=0.05,
                                                     max_retry_after=1.0, max_rate_limited=1))
        cfg.artificial_analysis.base_url = self.aa.base_url
        cfg.openrouter.base_url = self.openrouter.base_url
        cfg.llm_registry.base_url = self.llm_registry.base_url
        cfg.llm_registry.block_seconds_on_429 = 0.05
        cfg.aimodelsmap.base_url = self.aimodelsmap.base_url
        cfg.aimodelsmap.page_size = 20
        return cfg
