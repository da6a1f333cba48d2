"""OpenRouter ``GET /benchmarks`` (Bearer key; 30 requests/minute per key, 500/day per account).

``meta`` (as_of, citation, source_url) is kept with the data: it says where the
numbers come from and how to cite them.
"""

from __future__ import annotations

from typing import Any, ClassVar, Dict, List, Mapping, Optional

from .base import CatalogClient, CatalogModel, CatalogResponse
from ..config.catalog import OpenRouterConfig

SOURCES = ("artificial-analysis", "design-arena")
TASK_TYPES = ("coding", "intelligence", "agentic")
ARENAS = ("models", "builders", "agents")
QUERY_KEYS = ("source", "task_type", "arena", "category", "max_results")


class BenchmarkItem(CatalogModel):
    """One model's entry; its shape depends on ``source``, so most fields are optional."""

    display_name: Optional[str] = None
    model_permaslug: Optional[str] = None
    source: Optional[str] = None
    intelligence_index: Optional[float] = None
    coding_index: Optional[float] = None
    agentic_index: Optional[float] = None
    pricing: Optional[Dict[str, Any]] = None


class BenchmarksMeta(CatalogModel):
    as_of: Optional[str] = None
    citation: Optional[str] = None
    model_count: Optional[int] = None
    source: Optional[str] = None
    source_url: Optional[str] = None
    task_type: Optional[str] = None
    version: Optional[str] = None


class BenchmarksResponse(CatalogResponse):
    data: List[BenchmarkItem]
    meta: BenchmarksMeta


def query_name(query: Mapping[str, Any]) -> str:
    """File-name part for one query: 'benchmarks' or 'benchmarks__source-design-arena__arena-models'."""
    parts = [f"{k}-{query[k]}" for k in QUERY_KEYS if query.get(k) is not None]
    return "__".join(["benchmarks", *parts])


class OpenRouterClient(CatalogClient):
    api: ClassVar[str] = "openrouter"
    title: ClassVar[str] = "OpenRouter"
    attribution: ClassVar[str] = "Benchmark data via OpenRouter, https://openrouter.ai/rankings"
    endpoints: ClassVar[tuple[str, ...]] = ("benchmarks",)

    def auth_headers(self) -> Dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    def extra_headers(self) -> Dict[str, str]:
        cfg = self.cfg
        assert isinstance(cfg, OpenRouterConfig)
        headers = {"HTTP-Referer": cfg.http_referer, "X-OpenRouter-Title": cfg.app_title,
                   "X-OpenRouter-Categories": cfg.app_categories}
        return {k: v for k, v in headers.items() if v}

    def check_query(self, source: Optional[str], task_type: Optional[str], arena: Optional[str],
                    category: Optional[str], max_results: Optional[int]) -> None:
        """The documented enums and ranges, checked before spending a request."""
        for name, value, allowed in (("source", source, SOURCES), ("task_type", task_type, TASK_TYPES),
                                     ("arena", arena, ARENAS)):
            if value is not None and value not in allowed:
                raise self.reject(f"{name}={value!r} is not documented: use one of {', '.join(allowed)}")
        if source == "artificial-analysis" and (arena is not None or category is not None):
            raise self.reject("arena and category apply to Design Arena only: drop them or use "
                              "source=design-arena")
        if max_results is not None and (isinstance(max_results, bool) or int(max_results) < 1):
            raise self.reject(f"max_results={max_results!r}: must be an integer >= 1")

    async def benchmarks(self, source: Optional[str] = None, task_type: Optional[str] = None,
                         arena: Optional[str] = None, category: Optional[str] = None,
                         max_results: Optional[int] = None) -> BenchmarksResponse:
        """GET /benchmarks with any of the documented filters."""
        self.check_query(source, task_type, arena, category, max_results)
        params = {"source": source, "task_type": task_type, "arena": arena, "category": category,
                  "max_results": max_results}
        return self.parse(BenchmarksResponse, await self.get("benchmarks", params))

    async def fetch(self, endpoint: str) -> List[tuple[str, CatalogResponse]]:
        cfg = self.cfg
        assert isinstance(cfg, OpenRouterConfig)
        out: List[tuple[str, CatalogResponse]] = []
        for query in cfg.benchmark_queries or [{}]:
            unknown = sorted(set(query) - set(QUERY_KEYS))
            if unknown:
                raise self.reject(f"catalog.openrouter.benchmark_queries has unknown keys {unknown}: "
                                  f"use {', '.join(QUERY_KEYS)}")
            out.append((query_name(query), await self.benchmarks(**dict(query))))
        return out

    @staticmethod
    def citation(response: BenchmarksResponse) -> Optional[str]:
        return response.meta.citation
