"""OpenRouter ``GET /benchmarks`` (Bearer key; 30 requests/minute per key, 500/day per account).

``meta`` (as_of, citation, source_url) is kept with the data: it says where the
numbers come from and how to cite them.
"""

from __future__ import annotations

from typing import Any, ClassVar, Dict, Iterator, List, Mapping, Optional, Tuple

from .base import CatalogClient
from .replies import CatalogModel, CatalogResponse
from ..config.catalog import OpenRouterConfig
from .endpoints import Endpoint, Param, Snap, at_least, one_of, snaps
from .stored import Candidate, CatalogPrice, ContextMetric, Metrics, SnapshotFiles, StoredFile, keys, num

SOURCES = ("artificial-analysis", "design-arena")
TASK_TYPES = ("coding", "intelligence", "agentic")
ARENAS = ("models", "builders", "agents")
QUERY_KEYS = ("source", "task_type", "arena", "category", "max_results")


class BenchmarksMeta(CatalogModel):
    citation: Optional[str] = None  # how the provider asks to be cited


class BenchmarksResponse(CatalogResponse):
    """Each item's shape depends on its ``source``: the items are kept as sent."""

    data: List[CatalogModel]
    meta: BenchmarksMeta


def query_name(query: Mapping[str, Any]) -> str:
    """File-name part for one query: 'benchmarks' or 'benchmarks__source-design-arena__arena-models'."""
    parts = [f"{k}-{query[k]}" for k in QUERY_KEYS if query.get(k) is not None]
    return "__".join(["benchmarks", *parts])


def _design_arena_only(values: Dict[str, Any]) -> None:
    if values.get("source") == "artificial-analysis" and (values["arena"] is not None or values["category"] is not None):
        raise ValueError("arena and category apply to Design Arena only: drop them or use source=design-arena")


class OpenRouterClient(CatalogClient):
    api: ClassVar[str] = "openrouter"
    title: ClassVar[str] = "OpenRouter"
    attribution: ClassVar[str] = "Benchmark data via OpenRouter, https://openrouter.ai/rankings"
    key_header = ("Authorization", "Bearer {}")

    # GET /benchmarks with any of the documented filters.
    benchmarks = Endpoint("benchmarks", BenchmarksResponse, Param("source", one_of(*SOURCES)),
                          Param("task_type", one_of(*TASK_TYPES)), Param("arena", one_of(*ARENAS)),
                          Param("category"), Param("max_results", at_least(1)), check=_design_arena_only)

    snapshot_files = snaps({"benchmarks": Snap("benchmarks", "{}", each="queries")})

    def extra_headers(self) -> Dict[str, str]:
        cfg = self.cfg
        assert isinstance(cfg, OpenRouterConfig)
        headers = {"HTTP-Referer": cfg.http_referer, "X-OpenRouter-Title": cfg.app_title,
                   "X-OpenRouter-Categories": cfg.app_categories}
        return {k: v for k, v in headers.items() if v}

    async def queries(self, endpoint: str) -> List[Tuple[str, Dict[str, Any]]]:
        """catalog.openrouter.benchmark_queries, one snapshot file each."""
        cfg = self.cfg
        assert isinstance(cfg, OpenRouterConfig)
        for query in cfg.benchmark_queries or [{}]:
            unknown = sorted(set(query) - set(QUERY_KEYS))
            if unknown:
                raise self.reject(f"catalog.openrouter.benchmark_queries has unknown keys {unknown}: "
                                  f"use {', '.join(QUERY_KEYS)}")
        return [(query_name(query), dict(query)) for query in cfg.benchmark_queries or [{}]]

    def provider_attribution(self, response: CatalogResponse) -> Any:
        if isinstance(response, BenchmarksResponse) and response.meta.citation:
            return response.meta.citation
        return super().provider_attribution(response)

    # Readers of the stored snapshot --------------------------------------------------------
    @classmethod
    def _items(cls, snap: SnapshotFiles) -> Iterator[Tuple[StoredFile, Dict[str, Any]]]:
        for f in snap.files(cls.api, "benchmarks"):
            yield from ((f, row) for row in f.rows("data") if row.get("model_permaslug"))

    @classmethod
    def candidates(cls, snap: SnapshotFiles) -> List[Candidate]:
        found: Dict[str, Candidate] = {}
        for f, item in cls._items(snap):
            slug = item["model_permaslug"]
            cand = found.setdefault(slug, Candidate(slug, item.get("display_name") or slug,
                                                    keys(slug, item.get("display_name"))))
            # One file may list a model once per source (artificial-analysis, design-arena...): keep each.
            key = f"{f.name}:{item['source']}" if item.get("source") else f.name
            cand.published[key] = {k: v for k, v in item.items() if k not in ("display_name", "model_permaslug")}
        return list(found.values())

    @classmethod
    def prices(cls, snap: SnapshotFiles, entry_id: str) -> List[CatalogPrice]:
        for f, item in cls._items(snap):
            pricing = item.get("pricing") or {}
            i, o = num(pricing.get("prompt")), num(pricing.get("completion"))
            if item["model_permaslug"] == entry_id and i is not None and o is not None:  # USD per token
                return [CatalogPrice(cls.api, i * 1e6, o * 1e6, "pricing.prompt / completion (per token)",
                                     snap.shown(f.path), f.fetched_at, item.get("display_name") or entry_id)]
        return []

    @classmethod
    def context(cls, snap: SnapshotFiles, entry_id: str) -> List[ContextMetric]:
        out = Metrics(snap, cls.api)
        for f, item in cls._items(snap):
            if item["model_permaslug"] != entry_id:
                continue
            meta = (f.response or {}).get("meta") or {}
            as_of = meta.get("as_of")
            src = item.get("source") or meta.get("source") or ""
            tag = f" ({src})" if src else ""
            for key, label in (("intelligence_index", "Intelligence Index"), ("coding_index", "Coding Index"),
                               ("agentic_index", "Agentic Index")):
                out.add(label + tag, num(item.get(key)), "index", f, as_of)
            if item.get("elo") is not None:
                where = "/".join(str(item[k]) for k in ("arena", "category") if item.get(k))
                out.add(f"ELO{tag}" + (f" {where}" if where else ""), num(item.get("elo")), "ELO", f, as_of)
            pricing = item.get("pricing") or {}
            for key, label in (("prompt", "price, input"), ("completion", "price, output")):
                v = num(pricing.get(key))
                out.add(label, None if v is None else round(v * 1e6, 6), "USD / 1M tokens", f, as_of)
        return out
