"""LLM Registry (no key): a static JSON export behind Cloudflare.

The server ignores filter parameters, so filtering and paging happen here, and
every request for a resource is the same URL (one cache entry). Responses carry
``Cache-Control: max-age=300`` and ``Last-Modified``; the cache revalidates with
``If-Modified-Since``. A 429 comes without headers and blocks the IP for a minute.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any, Awaitable, Callable, ClassVar, Dict, List, Optional
from urllib.parse import quote

import httpx
from pydantic import ConfigDict
from pydantic.alias_generators import to_camel

from .base import CatalogClient, CatalogModel, CatalogResponse
from ..config.catalog import LLMRegistryConfig

ENDPOINTS = ("root", "meta", "models", "benchmarks", "scores", "leaderboards", "export_json", "export_csv")


class _Camel(CatalogModel):
    # The registry writes camelCase; Python names are snake_case.
    model_config = ConfigDict(extra="allow", populate_by_name=True, alias_generator=to_camel,
                              protected_namespaces=())


class _CamelResponse(CatalogResponse):
    model_config = ConfigDict(extra="allow", populate_by_name=True, alias_generator=to_camel,
                              protected_namespaces=())


class RegistryModel(_Camel):
    id: str
    name: Optional[str] = None
    provider: Optional[str] = None
    family: Optional[str] = None
    status: Optional[str] = None
    release_date: Optional[str] = None
    training_cutoff: Optional[str] = None
    capabilities: List[str] = []
    is_open_source: Optional[bool] = None
    specs: Dict[str, Any] = {}
    api_support: Dict[str, Any] = {}
    coverage: Optional[float] = None
    scores: Optional[Dict[str, Any]] = None


class RootResponse(_CamelResponse):
    api_version: Optional[str] = None
    endpoints: Any = None
    attribution: Any = None


class MetaResponse(_CamelResponse):
    api_version: Optional[str] = None
    generated_at: Optional[str] = None
    latest_score_date: Optional[str] = None
    counts: Dict[str, Any] = {}
    categories: List[Any] = []
    endpoints: List[Any] = []


class ModelsResponse(_CamelResponse):
    total: Optional[int] = None
    offset: Optional[int] = None
    limit: Optional[int] = None
    models: List[RegistryModel]


class ModelDetailResponse(_CamelResponse):
    model: RegistryModel


class ModelSlice(_CamelResponse):
    """/models/{id}.json: the small per-model file (bare, or wrapped in "model")."""

    id: Optional[str] = None
    name: Optional[str] = None
    model: Optional[RegistryModel] = None

    def entry(self) -> Dict[str, Any]:
        raw = self.raw if isinstance(self.raw, dict) else {}
        return raw.get("model", raw) if isinstance(raw.get("model"), dict) else raw


class Benchmark(_Camel):
    id: str
    name: Optional[str] = None
    category: Optional[str] = None
    max_score: Optional[float] = None
    normalize_method: Optional[str] = None


class BenchmarksResponse(_CamelResponse):
    total: Optional[int] = None
    categories: List[str] = []
    benchmarks: List[Benchmark]


class Score(_Camel):
    model_id: str
    model_name: Optional[str] = None
    benchmark_id: str
    benchmark_name: Optional[str] = None
    category: Optional[str] = None
    score: Optional[float] = None
    normalized_score: Optional[float] = None
    verified: Optional[bool] = None
    verification_level: Optional[str] = None
    source_id: Optional[str] = None
    as_of_date: Optional[str] = None


class ScoresResponse(_CamelResponse):
    total: Optional[int] = None
    scores: List[Score]


class LeaderboardEntry(_Camel):
    rank: Optional[int] = None
    model_id: str
    model_name: Optional[str] = None
    provider: Optional[str] = None
    average: Optional[float] = None
    coverage: Optional[float] = None
    score_count: Optional[int] = None


class LeaderboardResponse(_CamelResponse):
    category: Optional[str] = None
    category_slug: Optional[str] = None
    benchmark_count: Optional[int] = None
    leaderboard: List[LeaderboardEntry]


class ExportResponse(_CamelResponse):
    total: Optional[int] = None
    exported_at: Optional[str] = None
    filters: Any = None
    scores: List[Score]
    attribution: Any = None


class CsvExport(CatalogResponse):
    text: str
    rows: int


def category_slug(category: str) -> str:
    """'Coding' -> 'coding', 'Long Context' -> 'long-context' (the leaderboard path)."""
    return re.sub(r"[^a-z0-9]+", "-", category.strip().lower()).strip("-") or "all"


def _same(a: Optional[str], b: Optional[str]) -> bool:
    return b is None or (a or "").casefold() == b.casefold()


def _check_range(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise ValueError(f"{name}={value}: the documents allow {low}-{high}")


class LLMRegistryClient(CatalogClient):
    api: ClassVar[str] = "llm_registry"
    title: ClassVar[str] = "LLM Registry"
    attribution: ClassVar[str] = (
        "Data from LLM Registry, https://llm-registry.com; scores with sourceId \"artificial-analysis\" "
        "are from Artificial Analysis, https://artificialanalysis.ai")
    endpoints: ClassVar[tuple[str, ...]] = ENDPOINTS

    def error_headers(self, response: httpx.Response) -> Dict[str, str]:
        headers = dict(response.headers)
        if response.status_code == 429 and not any(k.lower() == "retry-after" for k in headers):
            # Cloudflare sends none, but its rule blocks for a known time: wait that out.
            cfg = self.cfg
            assert isinstance(cfg, LLMRegistryConfig)
            headers["retry-after"] = str(cfg.block_seconds_on_429)
        return headers

    def _range(self, name: str, value: int, low: int, high: int) -> None:
        try:
            _check_range(name, value, low, high)
        except ValueError as exc:
            raise self.reject(str(exc)) from None

    async def root(self) -> RootResponse:
        """GET /api/v1: endpoint listing and attribution."""
        return self.parse(RootResponse, await self.get(""))

    async def meta(self) -> MetaResponse:
        return self.parse(MetaResponse, await self.get("meta"))

    async def all_models(self) -> ModelsResponse:
        """GET /models as served (the whole static list)."""
        return self.parse(ModelsResponse, await self.get("models"))

    async def models(self, *, provider: Optional[str] = None, family: Optional[str] = None,
                     status: Optional[str] = None, open_source: Optional[bool] = None,
                     capability: Optional[str] = None, api_support: Optional[str] = None,
                     limit: int = 100, offset: int = 0) -> ModelsResponse:
        """Models filtered and paged here (limit 1-500, offset >= 0, as documented)."""
        self._range("limit", limit, 1, 500)
        if offset < 0:
            raise self.reject(f"offset={offset}: must be >= 0")
        full = await self.all_models()
        kept = [m for m in full.models
                if _same(m.provider, provider) and _same(m.family, family) and _same(m.status, status)
                and (open_source is None or m.is_open_source == open_source)
                and (capability is None or capability in m.capabilities)
                and (api_support is None or m.api_support.get(api_support) is True)]
        return full.model_copy(update={"models": kept[offset:offset + limit], "total": len(kept),
                                       "offset": offset, "limit": limit})

    async def model(self, model_id: str) -> ModelDetailResponse:
        """GET /models/{id}: full details and scores."""
        return self.parse(ModelDetailResponse, await self.get(f"models/{quote(model_id, safe='')}"))

    async def model_slice(self, model_id: str) -> ModelSlice:
        """GET /models/{id}.json: the pre-generated small metadata file."""
        return self.parse(ModelSlice, await self.get(f"models/{quote(model_id, safe='')}.json"))

    async def benchmarks(self, category: Optional[str] = None) -> BenchmarksResponse:
        full = self.parse(BenchmarksResponse, await self.get("benchmarks"))
        if category is None:
            return full
        kept = [b for b in full.benchmarks if _same(b.category, category)]
        return full.model_copy(update={"benchmarks": kept, "total": len(kept)})

    @staticmethod
    def _filter_scores(scores: List[Score], model_id: Optional[str], benchmark_id: Optional[str],
                       category: Optional[str], source_id: Optional[str]) -> List[Score]:
        return [s for s in scores if _same(s.model_id, model_id) and _same(s.benchmark_id, benchmark_id)
                and _same(s.category, category) and _same(s.source_id, source_id)]

    async def scores(self, *, model_id: Optional[str] = None, benchmark_id: Optional[str] = None,
                     category: Optional[str] = None, source_id: Optional[str] = None,
                     limit: int = 500, offset: int = 0) -> ScoresResponse:
        """Scores with every documented filter (limit 1-5000), applied here."""
        self._range("limit", limit, 1, 5000)
        full = self.parse(ScoresResponse, await self.get("scores"))
        if full.total is not None and full.total > len(full.scores):
            self.notices.append(f"{full.fetches[0].url} holds {len(full.scores)} of {full.total} scores; "
                                "use export_json for all of them")
        kept = self._filter_scores(full.scores, model_id, benchmark_id, category, source_id)
        return full.model_copy(update={"scores": kept[offset:offset + limit], "total": len(kept)})

    async def leaderboard(self, category: str = "all", limit: int = 100) -> LeaderboardResponse:
        """GET /leaderboards/{category} ('all' = global); the top ``limit`` (1-500) kept."""
        self._range("limit", limit, 1, 500)
        full = self.parse(LeaderboardResponse, await self.get(f"leaderboards/{category_slug(category)}"))
        return full.model_copy(update={"leaderboard": full.leaderboard[:limit]})

    async def export_json(self, *, model_id: Optional[str] = None, benchmark_id: Optional[str] = None,
                          category: Optional[str] = None, source_id: Optional[str] = None) -> ExportResponse:
        full = self.parse(ExportResponse, await self.get("export"))
        kept = self._filter_scores(full.scores, model_id, benchmark_id, category, source_id)
        return full.model_copy(update={"scores": kept, "total": len(kept)})

    async def export_csv(self, *, model_id: Optional[str] = None, benchmark_id: Optional[str] = None,
                         category: Optional[str] = None, source_id: Optional[str] = None) -> CsvExport:
        """GET /export?format=csv; filters are applied to the rows here (header kept)."""
        fetched = await self.get("export", {"format": "csv"})
        rows = list(csv.reader(io.StringIO(fetched.text)))
        if not rows:
            return self.validate(CsvExport, {"text": "", "rows": 0}, [fetched])
        header, body = rows[0], rows[1:]
        wanted = {"modelId": model_id, "benchmarkId": benchmark_id, "category": category, "sourceId": source_id}
        for column, value in wanted.items():
            if value is None:
                continue
            if column not in header:
                raise self.reject(f"the CSV export has no {column} column to filter on (columns: {header})")
            i = header.index(column)
            body = [r for r in body if i < len(r) and r[i].casefold() == value.casefold()]
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows([header, *body])
        text = fetched.text if all(v is None for v in wanted.values()) else out.getvalue()
        return self.validate(CsvExport, {"text": text, "rows": len(body)}, [fetched]).with_source(
            fetched.text, [fetched])

    async def fetch(self, endpoint: str) -> List[tuple[str, CatalogResponse]]:
        cfg = self.cfg
        assert isinstance(cfg, LLMRegistryConfig)
        if endpoint == "leaderboards":
            return [(f"leaderboard_{category_slug(c)}", await self.leaderboard(c, limit=500))
                    for c in cfg.leaderboard_categories]
        calls: Dict[str, Callable[[], Awaitable[CatalogResponse]]] = {"root": self.root, "meta": self.meta, "models": self.all_models, "benchmarks": self.benchmarks,
                 "scores": lambda: self.scores(limit=5000), "export_json": self.export_json,
                 "export_csv": self.export_csv}
        return [(endpoint, await calls[endpoint]())]
