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
from typing import Any, ClassVar, Dict, List, Optional, Tuple

import httpx
from pydantic import ConfigDict
from pydantic.alias_generators import to_camel

from .base import CatalogClient
from .replies import CatalogModel, CatalogResponse
from ..config.catalog import LLMRegistryConfig
from .endpoints import Endpoint, Param, Snap, in_range, snaps
from .stored import Candidate, CatalogPrice, ContextMetric, Metrics, PublishedScore, SnapshotFiles, keys, num


class _Camel(CatalogModel):
    # The registry writes camelCase; Python names are snake_case. Declared: what the filters
    # here read and the structure; every other field is kept as sent.
    model_config = ConfigDict(extra="allow", populate_by_name=True, alias_generator=to_camel,
                              protected_namespaces=())


class _CamelResponse(CatalogResponse):
    model_config = ConfigDict(extra="allow", populate_by_name=True, alias_generator=to_camel,
                              protected_namespaces=())


class RegistryModel(_Camel):
    id: str
    provider: Optional[str] = None
    family: Optional[str] = None
    status: Optional[str] = None
    release_date: Optional[str] = None
    capabilities: List[str] = []
    is_open_source: Optional[bool] = None
    api_support: Dict[str, Any] = {}
    scores: Optional[Dict[str, Any]] = None


class RootResponse(_CamelResponse):
    api_version: Optional[str] = None


class MetaResponse(RootResponse):
    latest_score_date: Optional[str] = None
    counts: Dict[str, Any] = {}
    categories: List[Any] = []


class _Counted(_CamelResponse):
    total: Optional[int] = None  # the list's length (rewritten when a filter here keeps fewer)


class ModelsResponse(_Counted):
    offset: Optional[int] = None
    limit: Optional[int] = None
    models: List[RegistryModel]


class ModelDetailResponse(_CamelResponse):
    model: RegistryModel


class ModelSlice(_CamelResponse):
    """/models/{id}.json: the small per-model file (bare, or wrapped in "model")."""

    model: Optional[RegistryModel] = None

    def entry(self) -> Dict[str, Any]:
        raw = self.raw if isinstance(self.raw, dict) else {}
        return raw.get("model", raw) if isinstance(raw.get("model"), dict) else raw


class Benchmark(_Camel):
    id: str
    category: Optional[str] = None


class BenchmarksResponse(_Counted):
    benchmarks: List[Benchmark]


class Score(_Camel):
    model_id: str
    benchmark_id: str
    category: Optional[str] = None
    source_id: Optional[str] = None


class ScoresResponse(_Counted):
    scores: List[Score]


class LeaderboardEntry(_Camel):
    model_id: str


class LeaderboardResponse(_CamelResponse):
    category_slug: Optional[str] = None
    leaderboard: List[LeaderboardEntry]


class ExportResponse(ScoresResponse):
    pass


class CsvExport(CatalogResponse):
    text: str
    rows: int


def category_slug(category: str) -> str:
    """'Coding' -> 'coding', 'Long Context' -> 'long-context' (the leaderboard path)."""
    return re.sub(r"[^a-z0-9]+", "-", category.strip().lower()).strip("-") or "all"


def _same(a: Optional[str], b: Optional[str]) -> bool:
    return b is None or (a or "").casefold() == b.casefold()


class LLMRegistryClient(CatalogClient):
    api: ClassVar[str] = "llm_registry"
    title: ClassVar[str] = "LLM Registry"
    attribution: ClassVar[str] = (
        "Data from LLM Registry, https://llm-registry.com; scores with sourceId \"artificial-analysis\" "
        "are from Artificial Analysis, https://artificialanalysis.ai")

    # The static resources (filters are applied here, on the one cached copy of each).
    root = Endpoint("", RootResponse)  # GET /api/v1: endpoint listing and attribution
    meta = Endpoint("meta", MetaResponse)
    all_models = Endpoint("models", ModelsResponse)  # the whole static list, as served
    model = Endpoint("models/{model_id}", ModelDetailResponse)  # full details and scores
    model_slice = Endpoint("models/{model_id}.json", ModelSlice)  # the pre-generated small metadata file
    _benchmarks = Endpoint("benchmarks", BenchmarksResponse)
    _scores = Endpoint("scores", ScoresResponse)
    _leaderboard = Endpoint("leaderboards/{category}", LeaderboardResponse,
                            Param("category", lambda _, c: category_slug(c)))
    _export = Endpoint("export", ExportResponse)

    snapshot_files = snaps({"root": "root", "meta": "meta", "models": "all_models", "benchmarks": "benchmarks",
                            "scores": Snap("scores", args=(("limit", 5000),)),
                            "leaderboards": Snap("leaderboard", "leaderboard_{}", (("limit", 500),), "boards"),
                            "export_json": "export_json", "export_csv": "export_csv"})

    def error_headers(self, response: httpx.Response) -> Dict[str, str]:
        headers = dict(response.headers)
        if response.status_code == 429 and not any(k.lower() == "retry-after" for k in headers):
            # Cloudflare sends none, but its rule blocks for a known time: wait that out.
            cfg = self.cfg
            assert isinstance(cfg, LLMRegistryConfig)
            headers["retry-after"] = str(cfg.block_seconds_on_429)
        return headers

    async def boards(self, endpoint: str) -> List[Tuple[str, Dict[str, Any]]]:
        """catalog.llm_registry.leaderboard_categories, one snapshot file each."""
        cfg = self.cfg
        assert isinstance(cfg, LLMRegistryConfig)
        return [(category_slug(c), {"category": c}) for c in cfg.leaderboard_categories]

    async def models(self, *, provider: Optional[str] = None, family: Optional[str] = None,
                     status: Optional[str] = None, open_source: Optional[bool] = None,
                     capability: Optional[str] = None, api_support: Optional[str] = None,
                     limit: int = 100, offset: int = 0) -> ModelsResponse:
        """Models filtered and paged here (limit 1-500, offset >= 0, as documented)."""
        self.checked("limit", limit, in_range(1, 500))
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

    async def benchmarks(self, category: Optional[str] = None) -> BenchmarksResponse:
        full = await self._benchmarks()
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
        self.checked("limit", limit, in_range(1, 5000))
        full = await self._scores()
        if full.total is not None and full.total > len(full.scores):
            self.notices.append(f"{full.fetches[0].url} holds {len(full.scores)} of {full.total} scores; "
                                "use export_json for all of them")
        kept = self._filter_scores(full.scores, model_id, benchmark_id, category, source_id)
        return full.model_copy(update={"scores": kept[offset:offset + limit], "total": len(kept)})

    async def leaderboard(self, category: str = "all", limit: int = 100) -> LeaderboardResponse:
        """GET /leaderboards/{category} ('all' = global); the top ``limit`` (1-500) kept."""
        self.checked("limit", limit, in_range(1, 500))
        full = await self._leaderboard(category)
        return full.model_copy(update={"leaderboard": full.leaderboard[:limit]})

    async def export_json(self, *, model_id: Optional[str] = None, benchmark_id: Optional[str] = None,
                          category: Optional[str] = None, source_id: Optional[str] = None) -> ExportResponse:
        full = await self._export()
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

    # Readers of the stored snapshot --------------------------------------------------------
    @classmethod
    def candidates(cls, snap: SnapshotFiles) -> List[Candidate]:
        found: Dict[str, Candidate] = {}
        for _, item in snap.rows(cls.api, "models", "models"):
            if item.get("id"):
                mid, provider = item["id"], item.get("provider")
                found[mid] = Candidate(mid, item.get("name") or mid, keys(mid, item.get("name"),
                                                                         provider and f"{provider}/{mid}"))
        for f in snap.files(cls.api, "leaderboard_"):
            for entry in f.rows("leaderboard"):
                if entry.get("modelId"):
                    cls._candidate(found, entry).published[f.name] = {"rank": entry.get("rank"),
                                                                      "average": entry.get("average")}
        for _, score in snap.rows(cls.api, "scores", "scores"):
            cand = cls._candidate(found, score) if score.get("modelId") else None
            if cand and _squash(score.get("benchmarkId", "")).startswith("critpt"):
                cand.published["critpt"] = {k: score.get(k) for k in ("benchmarkId", "score", "sourceId", "asOfDate")}
        return list(found.values())

    @staticmethod
    def _candidate(found: Dict[str, Candidate], row: Dict[str, Any]) -> Candidate:
        mid, name = row["modelId"], row.get("modelName")
        return found.setdefault(mid, Candidate(mid, name or mid, keys(mid, name)))

    @classmethod
    def published_scores(cls, snap: SnapshotFiles) -> List[PublishedScore]:
        maxima = {b["id"]: m for _, b in snap.rows(cls.api, "benchmarks", "benchmarks")
                  if b.get("id") and (m := num(b.get("maxScore")))}
        out = []
        for f, row in snap.rows(cls.api, "scores", "scores"):
            bench = str(row.get("benchmarkId") or "")
            value = num(row.get("score"))
            if not _squash(bench).startswith("critpt") or value is None or not row.get("modelId"):
                continue
            note = f"source: {row['sourceId']}" if row.get("sourceId") else ""
            out.append(PublishedScore(cls.api, row["modelId"], row.get("modelName") or row["modelId"],
                                      value / (maxima.get(bench) or 100.0) * 100, value, f"scores[{bench}].score",
                                      snap.shown(f.path), f.fetched_at, row.get("asOfDate"), note))
        return out

    @classmethod
    def prices(cls, snap: SnapshotFiles, entry_id: str) -> List[CatalogPrice]:
        f, item = snap.find(cls.api, "models", "models", "id", entry_id)
        pricing = ((item or {}).get("specs") or {}).get("pricing") or {}
        i, o = num(pricing.get("input")), num(pricing.get("output"))
        if f is None or item is None or i is None or o is None:
            return []
        return [CatalogPrice(cls.api, i, o, "specs.pricing.input / output", snap.shown(f.path), f.fetched_at,
                             item.get("name") or entry_id)]

    @classmethod
    def context(cls, snap: SnapshotFiles, entry_id: str) -> List[ContextMetric]:
        out = Metrics(snap, cls.api)
        for f in snap.files(cls.api, "leaderboard_"):
            row = next((r for r in f.rows("leaderboard") if r.get("modelId") == entry_id), None)
            if row:
                category = f.name[len("leaderboard_"):]
                out.add(f"leaderboard '{category}' rank", row.get("rank"), "rank", f)
                out.add(f"leaderboard '{category}' average", num(row.get("average")), "score", f)
        models = snap.file(cls.api, "models")
        for p in cls.prices(snap, entry_id):
            if models:
                out.add("price, input", p.input_per_million, "USD / 1M tokens", models)
                out.add("price, output", p.output_per_million, "USD / 1M tokens", models)
        return out


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(text).lower())
