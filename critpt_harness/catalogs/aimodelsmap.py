"""AI Models Map (``X-API-Key``; a daily limit; cursor pagination).

Lists follow ``pagination.next_cursor`` while ``has_more`` holds, up to a
limit. Arguments are checked against the documented ranges before a request is
spent. Writing a review is refused unless ``allow_review_submission`` is set.
``/health`` and ``/health/pipelines`` sit at the host root and need no key.
"""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar, Dict, List, Optional, Sequence, Type
from urllib.parse import quote, urlsplit

from .base import CatalogClient, CatalogModel, CatalogResponse, Fetched, M
from ..config.catalog import AIModelsMapConfig
from .errors import CatalogNotFound, CatalogWriteDisabled

ENDPOINTS = ("health", "pipelines", "categories", "models", "rankings", "history", "movers")
STATUSES = ("active", "deprecated", "preview", "retired")
SORT_BY = ("score", "name", "rank", "trending")
SORT_ORDER = ("asc", "desc")
GRANULARITY = ("daily", "weekly")
SIGNAL_TYPES = ("demand", "usage", "quality", "cost", "trust", "social", "expert")
PERIODS = ("24h", "7d", "30d")
REVIEW_SORT = ("recent", "helpful", "rating_high", "rating_low")


class Provider(CatalogModel):
    name: Optional[str] = None
    slug: Optional[str] = None


class Pagination(CatalogModel):
    next_cursor: Optional[str] = None
    has_more: bool = False
    total: Optional[int] = None


class ModelSummary(CatalogModel):
    slug: str
    name: Optional[str] = None
    description: Optional[str] = None
    model_type: Optional[str] = None
    status: Optional[str] = None
    provider: Optional[Provider] = None
    score: Optional[float] = None
    quality_rank: Optional[int] = None
    adoption_rank: Optional[int] = None
    state: Optional[str] = None
    context_window: Optional[int] = None


class ModelListResponse(CatalogResponse):
    data: List[ModelSummary]
    pagination: Pagination = Pagination()


class ModelDetail(ModelSummary):
    release_date: Optional[str] = None
    aliases: List[str] = []
    categories: List[Dict[str, Any]] = []
    scores: List[Dict[str, Any]] = []
    pricing: Optional[Dict[str, Any]] = None
    created_at: Optional[str] = None
    updated_at: Optional[str] = None


class ModelDetailResponse(CatalogResponse):
    data: ModelDetail


class ScorePoint(CatalogModel):
    score: Optional[float] = None
    quality_rank: Optional[int] = None
    adoption_rank: Optional[int] = None
    state: Optional[str] = None
    rank_spread: Optional[Dict[str, Any]] = None
    confidence: Optional[float] = None
    category: Optional[str] = None
    recorded_at: Optional[str] = None


class ScoreHistoryResponse(CatalogResponse):
    data: List[ScorePoint]
    model: Optional[str] = None
    granularity: Optional[str] = None
    count: Optional[int] = None


class Signal(CatalogModel):
    id: Optional[str] = None
    signal_type: Optional[str] = None
    source: Optional[str] = None
    raw_value: Optional[float] = None
    normalized_value: Optional[float] = None
    recorded_at: Optional[str] = None
    metadata: Dict[str, Any] = {}


class SignalListResponse(CatalogResponse):
    data: List[Signal]
    model: Optional[str] = None
    count: Optional[int] = None


class SearchHit(CatalogModel):
    slug: str
    name: Optional[str] = None
    provider: Optional[str] = None
    score: Optional[float] = None


class SearchResponse(CatalogResponse):
    data: List[SearchHit]
    query: Optional[str] = None
    count: Optional[int] = None


class ComparisonEntry(CatalogModel):
    model: Dict[str, Any]
    scores: List[Dict[str, Any]] = []
    pricing: Optional[Dict[str, Any]] = None
    categories: List[str] = []


class ComparisonResponse(CatalogResponse):
    data: List[ComparisonEntry]
    slugs_requested: List[str] = []
    slugs_found: List[str] = []


class RankingModel(CatalogModel):
    slug: str
    name: Optional[str] = None
    provider: Optional[Any] = None  # {name, slug} in rankings, a plain name in movers


class RankingEntry(CatalogModel):
    rank: Optional[int] = None
    model: RankingModel
    score: Optional[float] = None
    quality_rank: Optional[int] = None
    adoption_rank: Optional[int] = None
    rank_spread: Optional[Dict[str, Any]] = None
    state: Optional[str] = None
    confidence: Optional[float] = None
    change_24h: Optional[float] = None
    change_7d: Optional[float] = None
    top_drivers: List[str] = []
    recorded_at: Optional[str] = None


class RankingResponse(CatalogResponse):
    data: List[RankingEntry]
    category: Optional[str] = None
    pagination: Pagination = Pagination()


class RankingHistoryEntry(CatalogModel):
    model: RankingModel
    score: Optional[float] = None
    quality_rank: Optional[int] = None
    adoption_rank: Optional[int] = None
    state: Optional[str] = None
    recorded_at: Optional[str] = None


class RankingHistoryResponse(CatalogResponse):
    data: List[RankingHistoryEntry]
    category: Optional[str] = None
    count: Optional[int] = None


class Mover(CatalogModel):
    model: RankingModel
    current_score: Optional[float] = None
    previous_score: Optional[float] = None
    score_change: Optional[float] = None
    current_rank: Optional[int] = None
    previous_rank: Optional[int] = None
    rank_change: Optional[int] = None
    direction: Optional[str] = None


class Movers(CatalogModel):
    gainers: List[Mover] = []
    losers: List[Mover] = []


class MoversResponse(CatalogResponse):
    data: Movers
    category: Optional[str] = None
    period: Optional[str] = None


class CategoryNode(CatalogModel):
    slug: str
    name: Optional[str] = None
    description: Optional[str] = None
    display_order: Optional[int] = None
    children: List["CategoryNode"] = []


class CategoryListResponse(CatalogResponse):
    data: List[CategoryNode]

    def slugs(self) -> List[str]:
        """Every category slug, sub-categories included."""
        out: List[str] = []
        stack = list(reversed(self.data))
        while stack:
            node = stack.pop()
            out.append(node.slug)
            stack.extend(reversed(node.children))
        return out


class CategoryDetail(CatalogModel):
    slug: str
    name: Optional[str] = None
    description: Optional[str] = None
    parent: Optional[Dict[str, Any]] = None
    children: List[Dict[str, Any]] = []
    model_count: Optional[int] = None
    display_order: Optional[int] = None
    created_at: Optional[str] = None


class CategoryDetailResponse(CatalogResponse):
    data: CategoryDetail


class Review(CatalogModel):
    id: str
    author_name: Optional[str] = None
    rating: Optional[int] = None
    title: Optional[str] = None
    body: Optional[str] = None
    use_case: Optional[str] = None
    verified: Optional[bool] = None
    helpful_count: Optional[int] = None
    created_at: Optional[str] = None


class ReviewListResponse(CatalogResponse):
    data: List[Review]
    summary: Optional[Dict[str, Any]] = None
    model: Optional[str] = None
    pagination: Pagination = Pagination()


class ReviewResponse(CatalogResponse):
    data: Review


class PricingData(CatalogModel):
    current: Optional[Dict[str, Any]] = None
    history: List[Dict[str, Any]] = []


class PricingResponse(CatalogResponse):
    data: PricingData


class PricingEstimate(CatalogModel):
    model: Dict[str, Any]
    estimated_monthly_cost: Optional[float] = None
    breakdown: Dict[str, Any] = {}
    pricing: Dict[str, Any] = {}


class PricingCalculateResponse(CatalogResponse):
    data: List[PricingEstimate]
    usage: Dict[str, Any] = {}
    count: Optional[int] = None


class HealthResponse(CatalogResponse):
    status: str
    timestamp: Optional[str] = None
    version: Optional[str] = None
    services: Dict[str, Any] = {}


class PipelineStatusResponse(CatalogResponse):
    status: str
    summary: Dict[str, Any] = {}
    pipelines: List[Dict[str, Any]] = []


def _seg(value: str) -> str:
    return quote(value, safe="")


class AIModelsMapClient(CatalogClient):
    api: ClassVar[str] = "aimodelsmap"
    title: ClassVar[str] = "AI Models Map"
    # The documents ask for no attribution text; credit the source anyway.
    attribution: ClassVar[str] = "Data from AI Models Map, https://aimodelsmap.com"
    endpoints: ClassVar[tuple[str, ...]] = ENDPOINTS
    keyless_endpoints: ClassVar[frozenset[str]] = frozenset({"health", "pipelines"})
    _categories: Optional[CategoryListResponse] = None  # /categories, fetched once per client

    @property
    def mcfg(self) -> AIModelsMapConfig:
        assert isinstance(self.cfg, AIModelsMapConfig)
        return self.cfg

    def auth_headers(self) -> Dict[str, str]:
        return {"X-API-Key": self.api_key or ""}

    # Argument checks (the documented ranges), before any request -------------------
    def _one_of(self, name: str, value: Optional[str], allowed: Sequence[str]) -> None:
        if value is not None and value not in allowed:
            raise self.reject(f"{name}={value!r} is not documented: use one of {', '.join(allowed)}")

    def _limit(self, limit: Optional[int], name: str = "limit") -> None:
        if limit is not None and not 1 <= limit <= 100:
            raise self.reject(f"{name}={limit}: the documents allow 1-100")

    def _date(self, name: str, value: Optional[str]) -> None:
        if value is None:
            return
        try:
            date.fromisoformat(value)
        except ValueError:
            raise self.reject(f"{name}={value!r}: use an ISO 8601 date such as 2026-01-31") from None

    # Pagination ------------------------------------------------------------------------
    async def _follow(self, model: Type[M], path: str, params: Dict[str, Any],
                      max_items: Optional[int]) -> M:
        """Fetch pages until ``has_more`` is false or ``max_items`` are in (0 = no cap); one merged response."""
        cap = self.mcfg.max_items if max_items is None else max_items
        items: List[Any] = []
        fetches: List[Fetched] = []
        first: Dict[str, Any] = {}
        pagination: Dict[str, Any] = {}
        cursor: Optional[str] = None
        seen = set()
        while True:
            left = cap - len(items) if cap > 0 else 100
            want = max(1, min(self.mcfg.page_size, 100, left))
            fetched = await self.get(path, {**params, "limit": want, "cursor": cursor})
            page = self.parse(model, fetched).raw
            fetches.append(fetched)
            first = first or dict(page)
            items.extend(page.get("data") or [])
            pagination = dict(page.get("pagination") or {})
            cursor = pagination.get("next_cursor")
            if not pagination.get("has_more") or not cursor:
                break
            if cap > 0 and len(items) >= cap:
                self.notices.append(f"{path}: stopped after {len(items)} of {pagination.get('total', '?')} "
                                    f"items (catalog.aimodelsmap.max_items={cap})")
                break
            if cursor in seen:  # a server bug must not loop forever
                raise self.reject(f"{path}: the server returned cursor {cursor!r} twice; stopped paging")
            seen.add(cursor)
        merged = {**first, "data": items[:cap] if cap > 0 else items, "pagination": pagination}
        return self.validate(model, merged, fetches)

    # Models --------------------------------------------------------------------------------
    def _model_filters(self, category: Optional[str], provider: Optional[str], status: Optional[str],
                       search: Optional[str], sort_by: Optional[str], sort_order: Optional[str]) -> Dict[str, Any]:
        self._one_of("status", status, STATUSES)
        self._one_of("sort_by", sort_by, SORT_BY)
        self._one_of("sort_order", sort_order, SORT_ORDER)
        return {"category": category, "provider": provider, "status": status, "search": search,
                "sort_by": sort_by, "sort_order": sort_order}

    async def models(self, *, category: Optional[str] = None, provider: Optional[str] = None,
                     status: Optional[str] = None, search: Optional[str] = None, sort_by: Optional[str] = None,
                     sort_order: Optional[str] = None, cursor: Optional[str] = None,
                     limit: Optional[int] = None) -> ModelListResponse:
        """GET /models: one page."""
        params = self._model_filters(category, provider, status, search, sort_by, sort_order)
        self._limit(limit)
        return self.parse(ModelListResponse, await self.get("models", {**params, "cursor": cursor, "limit": limit}))

    async def all_models(self, *, category: Optional[str] = None, provider: Optional[str] = None,
                         status: Optional[str] = None, search: Optional[str] = None, sort_by: Optional[str] = None,
                         sort_order: Optional[str] = None, max_items: Optional[int] = None) -> ModelListResponse:
        """GET /models, every page (up to ``max_items``, default catalog.aimodelsmap.max_items)."""
        params = self._model_filters(category, provider, status, search, sort_by, sort_order)
        return await self._follow(ModelListResponse, "models", params, max_items)

    async def model(self, slug: str) -> ModelDetailResponse:
        return self.parse(ModelDetailResponse, await self.get(f"models/{_seg(slug)}"))

    async def model_scores(self, slug: str, *, category: Optional[str] = None, start_date: Optional[str] = None,
                           end_date: Optional[str] = None, granularity: Optional[str] = None) -> ScoreHistoryResponse:
        self._one_of("granularity", granularity, GRANULARITY)
        self._date("startDate", start_date)
        self._date("endDate", end_date)
        params = {"category": category, "startDate": start_date, "endDate": end_date, "granularity": granularity}
        return self.parse(ScoreHistoryResponse, await self.get(f"models/{_seg(slug)}/scores", params))

    async def model_signals(self, slug: str, *, signal_type: Optional[str] = None, start_date: Optional[str] = None,
                            end_date: Optional[str] = None) -> SignalListResponse:
        self._one_of("signalType", signal_type, SIGNAL_TYPES)
        self._date("startDate", start_date)
        self._date("endDate", end_date)
        params = {"signalType": signal_type, "startDate": start_date, "endDate": end_date}
        return self.parse(SignalListResponse, await self.get(f"models/{_seg(slug)}/signals", params))

    async def search(self, q: str, limit: Optional[int] = None) -> SearchResponse:
        """GET /models/search: typo-tolerant search over names, aliases and descriptions."""
        if not q or not q.strip():
            raise self.reject("search needs a non-empty query (q)")
        self._limit(limit)
        return self.parse(SearchResponse, await self.get("models/search", {"q": q.strip(), "limit": limit}))

    async def compare(self, slugs: Sequence[str]) -> ComparisonResponse:
        """GET /models/compare for 2 to 4 distinct slugs (checked here, before the request)."""
        cleaned = [s.strip() for s in slugs]
        if any(not s or "," in s for s in cleaned):
            raise self.reject(f"compare needs plain model slugs (no empty ones, no commas): {list(slugs)}")
        if len(set(cleaned)) != len(cleaned):
            raise self.reject(f"compare needs distinct slugs: {cleaned}")
        if not 2 <= len(cleaned) <= 4:
            raise self.reject(f"compare takes 2 to 4 slugs, got {len(cleaned)}: {cleaned}")
        return self.parse(ComparisonResponse, await self.get("models/compare", {"slugs": ",".join(cleaned)}))

    # Rankings -------------------------------------------------------------------------------
    async def rankings(self, category: str, *, limit: Optional[int] = None,
                       cursor: Optional[str] = None) -> RankingResponse:
        """GET /rankings/{category}: one page."""
        self._limit(limit)
        return self.parse(RankingResponse, await self.get(f"rankings/{_seg(category)}",
                                                          {"limit": limit, "cursor": cursor}))

    async def all_rankings(self, category: str, *, max_items: Optional[int] = None) -> RankingResponse:
        return await self._follow(RankingResponse, f"rankings/{_seg(category)}", {}, max_items)

    async def rankings_history(self, category: str, *, start_date: Optional[str] = None,
                               end_date: Optional[str] = None, model_slug: Optional[str] = None
                               ) -> RankingHistoryResponse:
        self._date("startDate", start_date)
        self._date("endDate", end_date)
        params = {"startDate": start_date, "endDate": end_date, "modelSlug": model_slug}
        return self.parse(RankingHistoryResponse, await self.get(f"rankings/{_seg(category)}/history", params))

    async def rankings_movers(self, category: str, *, period: Optional[str] = None,
                              limit: Optional[int] = None) -> MoversResponse:
        self._one_of("period", period, PERIODS)
        self._limit(limit)
        return self.parse(MoversResponse, await self.get(f"rankings/{_seg(category)}/movers",
                                                         {"period": period, "limit": limit}))

    # Categories ---------------------------------------------------------------------------
    async def categories(self) -> CategoryListResponse:
        """GET /categories, once per client: the snapshot's endpoints all ask for it."""
        if self._categories is None:
            self._categories = self.parse(CategoryListResponse, await self.get("categories"))
        return self._categories

    async def category(self, slug: str) -> CategoryDetailResponse:
        return self.parse(CategoryDetailResponse, await self.get(f"categories/{_seg(slug)}"))

    # Reviews -------------------------------------------------------------------------------
    async def reviews(self, slug: str, *, sort_by: Optional[str] = None, cursor: Optional[str] = None,
                      limit: Optional[int] = None) -> ReviewListResponse:
        self._one_of("sortBy", sort_by, REVIEW_SORT)
        self._limit(limit)
        return self.parse(ReviewListResponse, await self.get(f"models/{_seg(slug)}/reviews",
                                                             {"sortBy": sort_by, "cursor": cursor, "limit": limit}))

    async def all_reviews(self, slug: str, *, sort_by: Optional[str] = None,
                          max_items: Optional[int] = None) -> ReviewListResponse:
        self._one_of("sortBy", sort_by, REVIEW_SORT)
        return await self._follow(ReviewListResponse, f"models/{_seg(slug)}/reviews", {"sortBy": sort_by}, max_items)

    async def submit_review(self, slug: str, *, rating: int, body: str, author_name: str,
                            title: Optional[str] = None, use_case: Optional[str] = None) -> ReviewResponse:
        """POST /models/{slug}/reviews: publishes (or updates) your review on a public site."""
        if not self.mcfg.allow_review_submission:
            raise CatalogWriteDisabled(self.api, "submitting a review publishes it on aimodelsmap.com; set "
                                                 "catalog.aimodelsmap.allow_review_submission=true to allow it")
        problems = []
        if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
            problems.append("rating must be an integer 1-5")
        if not 10 <= len(body) <= 5000:
            problems.append("body must be 10-5000 characters")
        if not 1 <= len(author_name) <= 100:
            problems.append("author_name must be 1-100 characters")
        if title is not None and len(title) > 200:
            problems.append("title must be at most 200 characters")
        if use_case is not None and len(use_case) > 500:
            problems.append("use_case must be at most 500 characters")
        if problems:
            raise self.reject("review not sent: " + "; ".join(problems))
        payload = {"rating": rating, "body": body, "authorName": author_name, "title": title, "useCase": use_case}
        fetched = await self.post(f"models/{_seg(slug)}/reviews", {k: v for k, v in payload.items() if v is not None})
        return self.parse(ReviewResponse, fetched)

    # Pricing -------------------------------------------------------------------------------
    async def pricing(self, slug: str) -> PricingResponse:
        return self.parse(PricingResponse, await self.get(f"models/{_seg(slug)}/pricing"))

    async def pricing_calculate(self, *, monthly_tokens: Optional[float] = None, monthly_images: Optional[int] = None,
                                monthly_video_minutes: Optional[float] = None,
                                category: Optional[str] = None) -> PricingCalculateResponse:
        usage = {"monthlyTokens": monthly_tokens, "monthlyImages": monthly_images,
                 "monthlyVideoMinutes": monthly_video_minutes}
        if all(v is None for v in usage.values()):
            raise self.reject("pricing calculate needs at least one of monthly_tokens, monthly_images, "
                              "monthly_video_minutes")
        if any(v is not None and v < 0 for v in usage.values()):
            raise self.reject("usage figures must not be negative")
        if monthly_images is not None and int(monthly_images) != monthly_images:
            raise self.reject("monthly_images must be a whole number")
        body = {k: v for k, v in {**usage, "category": category}.items() if v is not None}
        return self.parse(PricingCalculateResponse, await self.post("pricing/calculate", body))

    # Health (host root, no key; cached like the rest, so a snapshot within the lifetime asks nothing) ----
    def health_base(self) -> str:
        if self.mcfg.health_base_url:
            return self.mcfg.health_base_url
        parts = urlsplit(self.cfg.base_url)
        return f"{parts.scheme}://{parts.netloc}"

    async def health(self) -> HealthResponse:
        return self.parse(HealthResponse, await self.get("health", auth=False, base=self.health_base()))

    async def health_pipelines(self) -> PipelineStatusResponse:
        return self.parse(PipelineStatusResponse,
                          await self.get("health/pipelines", auth=False, base=self.health_base()))

    # Snapshot ----------------------------------------------------------------------------
    async def ranking_categories(self) -> List[str]:
        """The configured ranking categories that exist (missing ones reported, not guessed)."""
        wanted = list(self.mcfg.ranking_categories)
        try:
            known = set((await self.categories()).slugs())
        except CatalogNotFound:
            return wanted
        missing = [c for c in wanted if c not in known]
        if missing:
            self.notices.append(f"ranking categories {missing} are not in /categories (known: "
                                f"{', '.join(sorted(known))}); set catalog.aimodelsmap.ranking_categories")
        return [c for c in wanted if c in known]

    async def fetch(self, endpoint: str) -> List[tuple[str, CatalogResponse]]:
        if endpoint in ("rankings", "history", "movers"):
            out: List[tuple[str, CatalogResponse]] = []
            for category in await self.ranking_categories():
                if endpoint == "rankings":
                    out.append((f"rankings_{category}", await self.all_rankings(category)))
                elif endpoint == "history":
                    out.append((f"rankings_{category}_history", await self.rankings_history(category)))
                else:
                    out.append((f"rankings_{category}_movers", await self.rankings_movers(category)))
            return out
        calls = {"health": self.health, "pipelines": self.health_pipelines, "categories": self.categories,
                 "models": self.all_models}
        return [(endpoint, await calls[endpoint]())]
