"""A fake LLM Registry: static JSON files behind Cloudflare (Last-Modified, If-Modified-Since, 429 without headers)."""

from __future__ import annotations

import email.utils
import time
from typing import Any, Dict, List, Optional

from .base import EXTRA, FakeCatalogServer, Reply

class FakeLLMRegistry(FakeCatalogServer):
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
