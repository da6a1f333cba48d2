"""A fake OpenRouter benchmarks endpoint (Artificial Analysis and Design Arena rankings)."""

from __future__ import annotations

import time
from typing import Any, Dict, List, Optional

from .base import EXTRA, FakeCatalogServer, Reply

class FakeOpenRouter(FakeCatalogServer):
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
