"""AI Models Map (``X-API-Key``; a daily limit; cursor pagination).

Lists follow ``pagination.next_cursor`` while ``has_more`` holds, up to a
limit. Arguments are checked against the documented ranges before a request is
spent. Writing a review is refused unless ``allow_review_submission`` is set.
``/health`` and ``/health/pipelines`` sit at the host root and need no key.
"""

from __future__ import annotations

from typing import Any, ClassVar, Dict, Iterator, List, Optional, Tuple

from .base import CatalogClient
from .replies import CatalogModel, CatalogResponse
from ..config.catalog import AIModelsMapConfig
from .endpoints import Endpoint, Param, Snap, in_range, iso_date, one_of, snaps
from .errors import CatalogNotFound, CatalogWriteDisabled
from .stored import Candidate, ContextMetric, Metrics, SnapshotFiles, StoredFile, keys, num

STATUSES = ("active", "deprecated", "preview", "retired")
SORT_BY = ("score", "name", "rank", "trending")
SORT_ORDER = ("asc", "desc")
GRANULARITY = ("daily", "weekly")
SIGNAL_TYPES = ("demand", "usage", "quality", "cost", "trust", "social", "expert")
PERIODS = ("24h", "7d", "30d")
REVIEW_SORT = ("recent", "helpful", "rating_high", "rating_low")


class Pagination(CatalogModel):
    next_cursor: Optional[str] = None
    has_more: bool = False
    total: Optional[int] = None


class Slugged(CatalogModel):
    """Anything the API names by its slug: a model, a category."""

    slug: str


class ModelListResponse(CatalogResponse):
    data: List[Slugged]
    pagination: Pagination = Pagination()


class ModelDetail(Slugged):
    aliases: List[str] = []
    categories: List[Dict[str, Any]] = []
    scores: List[Dict[str, Any]] = []


class ModelDetailResponse(CatalogResponse):
    data: ModelDetail


class ListResponse(CatalogResponse):
    """A list of records (score history, signals): each kept as sent."""

    data: List[CatalogModel]


class SearchHit(Slugged):
    name: Optional[str] = None
    score: Optional[float] = None


class SearchResponse(CatalogResponse):
    data: List[SearchHit]


class ComparisonEntry(CatalogModel):
    model: Dict[str, Any]


class ComparisonResponse(CatalogResponse):
    data: List[ComparisonEntry]


class RankingEntry(CatalogModel):
    """An entry of a ranking, its history, or its movers: ``model`` has the slug."""

    model: Slugged


class RankingResponse(CatalogResponse):
    data: List[RankingEntry]
    pagination: Pagination = Pagination()


class RankingHistoryResponse(CatalogResponse):
    data: List[RankingEntry]


class Movers(CatalogModel):
    gainers: List[RankingEntry] = []
    losers: List[RankingEntry] = []


class MoversResponse(CatalogResponse):
    data: Movers


class CategoryNode(Slugged):
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


class CategoryDetailResponse(CatalogResponse):
    data: Slugged  # a category: {slug, parent, children, model_count ...}


class Review(CatalogModel):
    id: str


class ReviewListResponse(CatalogResponse):
    data: List[Review]
    pagination: Pagination = Pagination()


class ReviewResponse(CatalogResponse):
    data: Review


class PricingResponse(CatalogResponse):
    data: CatalogModel  # {current, history}


class PricingCalculateResponse(CatalogResponse):
    data: List[ComparisonEntry]  # estimates, each with its model


class HealthResponse(CatalogResponse):
    status: str


class PipelineStatusResponse(HealthResponse):
    pipelines: List[Dict[str, Any]] = []


def _query(name: str, q: Any) -> Any:
    if not q or not str(q).strip():
        raise ValueError("search needs a non-empty query (q)")
    return str(q).strip()


def _slug_list(name: str, slugs: Any) -> Any:
    """2 to 4 distinct plain slugs, sent comma-separated."""
    cleaned = [s.strip() for s in slugs]
    if any(not s or "," in s for s in cleaned):
        raise ValueError(f"compare needs plain model slugs (no empty ones, no commas): {list(slugs)}")
    if len(set(cleaned)) != len(cleaned):
        raise ValueError(f"compare needs distinct slugs: {cleaned}")
    if not 2 <= len(cleaned) <= 4:
        raise ValueError(f"compare takes 2 to 4 slugs, got {len(cleaned)}: {cleaned}")
    return ",".join(cleaned)


def _review(values: Dict[str, Any]) -> None:
    rating, body, author, title, use_case = (values.get(k) for k in ("rating", "body", "authorName", "title", "useCase"))
    problems = []
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        problems.append("rating must be an integer 1-5")
    if not 10 <= len(body or "") <= 5000:
        problems.append("body must be 10-5000 characters")
    if not 1 <= len(author or "") <= 100:
        problems.append("author_name must be 1-100 characters")
    if title is not None and len(title) > 200:
        problems.append("title must be at most 200 characters")
    if use_case is not None and len(use_case) > 500:
        problems.append("use_case must be at most 500 characters")
    if problems:
        raise ValueError("review not sent: " + "; ".join(problems))


def _usage(values: Dict[str, Any]) -> None:
    usage = [values.get(k) for k in ("monthlyTokens", "monthlyImages", "monthlyVideoMinutes")]
    if all(v is None for v in usage):
        raise ValueError("pricing calculate needs at least one of monthly_tokens, monthly_images, monthly_video_minutes")
    if any(v is not None and v < 0 for v in usage):
        raise ValueError("usage figures must not be negative")
    if usage[1] is not None and int(usage[1]) != usage[1]:
        raise ValueError("monthly_images must be a whole number")


LIMIT, CURSOR = Param("limit", in_range(1, 100)), Param("cursor")
START, END = Param("startDate", iso_date), Param("endDate", iso_date)
FILTERS = (Param("category"), Param("provider"), Param("status", one_of(*STATUSES)), Param("search"),
           Param("sort_by", one_of(*SORT_BY)), Param("sort_order", one_of(*SORT_ORDER)))
REVIEW_SORT_BY = Param("sortBy", one_of(*REVIEW_SORT))
PAGE = 100  # the documents' largest page


class AIModelsMapClient(CatalogClient):
    api: ClassVar[str] = "aimodelsmap"
    title: ClassVar[str] = "AI Models Map"
    # The documents ask for no attribution text; credit the source anyway.
    attribution: ClassVar[str] = "Data from AI Models Map, https://aimodelsmap.com"
    key_header = ("X-API-Key", "{}")
    searches = True

    # Models: one page, or every page up to max_items (default catalog.aimodelsmap.max_items).
    models = Endpoint("models", ModelListResponse, *FILTERS, CURSOR, LIMIT)
    all_models = Endpoint("models", ModelListResponse, *FILTERS, pages=PAGE)
    model = Endpoint("models/{slug}", ModelDetailResponse)
    model_scores = Endpoint("models/{slug}/scores", ListResponse, Param("category"), START, END,
                            Param("granularity", one_of(*GRANULARITY)))
    model_signals = Endpoint("models/{slug}/signals", ListResponse, Param("signalType", one_of(*SIGNAL_TYPES)),
                             START, END)
    # Typo-tolerant search over names, aliases and descriptions; compare 2 to 4 models.
    search = Endpoint("models/search", SearchResponse, Param("q", _query), LIMIT)
    compare = Endpoint("models/compare", ComparisonResponse, Param("slugs", _slug_list))
    # Rankings of a category.
    rankings = Endpoint("rankings/{category}", RankingResponse, LIMIT, CURSOR)
    all_rankings = Endpoint("rankings/{category}", RankingResponse, pages=PAGE)
    rankings_history = Endpoint("rankings/{category}/history", RankingHistoryResponse, START, END,
                                Param("modelSlug"))
    rankings_movers = Endpoint("rankings/{category}/movers", MoversResponse, Param("period", one_of(*PERIODS)), LIMIT)
    # Categories (the tree is asked once per client: every ranking endpoint of a snapshot checks it).
    categories = Endpoint("categories", CategoryListResponse, once=True)
    category = Endpoint("categories/{slug}", CategoryDetailResponse)
    # Reviews; writing one publishes it (see submit_review).
    reviews = Endpoint("models/{slug}/reviews", ReviewListResponse, REVIEW_SORT_BY, CURSOR, LIMIT)
    all_reviews = Endpoint("models/{slug}/reviews", ReviewListResponse, REVIEW_SORT_BY, pages=PAGE)
    _post_review = Endpoint("models/{slug}/reviews", ReviewResponse, Param("rating"), Param("body"),
                            Param("authorName"), Param("title"), Param("useCase"), method="POST", check=_review)
    # Pricing; the calculation is a POST computed per request (never cached).
    pricing = Endpoint("models/{slug}/pricing", PricingResponse)
    pricing_calculate = Endpoint("pricing/calculate", PricingCalculateResponse, Param("monthlyTokens"),
                                 Param("monthlyImages"), Param("monthlyVideoMinutes"), Param("category"),
                                 method="POST", check=_usage)
    # Health, at the host root without a key (cached like the rest).
    health = Endpoint("health", HealthResponse, auth=False, root=True)
    health_pipelines = Endpoint("health/pipelines", PipelineStatusResponse, auth=False, root=True)

    snapshot_files = snaps({
        "health": "health", "pipelines": "health_pipelines", "categories": "categories", "models": "all_models",
        "rankings": Snap("all_rankings", "rankings_{}", each="ranking_categories"),
        "history": Snap("rankings_history", "rankings_{}_history", each="ranking_categories"),
        "movers": Snap("rankings_movers", "rankings_{}_movers", each="ranking_categories")})

    @property
    def mcfg(self) -> AIModelsMapConfig:
        assert isinstance(self.cfg, AIModelsMapConfig)
        return self.cfg

    def root_url(self) -> str:
        return self.mcfg.health_base_url or super().root_url()

    async def submit_review(self, slug: str, *, rating: int, body: str, author_name: str,
                            title: Optional[str] = None, use_case: Optional[str] = None) -> ReviewResponse:
        """POST /models/{slug}/reviews: publishes (or updates) your review on a public site."""
        if not self.mcfg.allow_review_submission:
            raise CatalogWriteDisabled(self.api, "submitting a review publishes it on aimodelsmap.com; set "
                                                 "catalog.aimodelsmap.allow_review_submission=true to allow it")
        return await self._post_review(slug, rating=rating, body=body, author_name=author_name, title=title,
                                       use_case=use_case)

    async def ranking_categories(self, endpoint: str = "") -> List[Tuple[str, Dict[str, Any]]]:
        """The configured ranking categories that exist (missing ones reported, not guessed)."""
        wanted = list(self.mcfg.ranking_categories)
        try:
            known = set((await self.categories()).slugs())
        except CatalogNotFound:
            known = set(wanted)
        missing = [c for c in wanted if c not in known]
        if missing:
            self.notices.append(f"ranking categories {missing} are not in /categories (known: "
                                f"{', '.join(sorted(known))}); set catalog.aimodelsmap.ranking_categories")
        return [(c, {"category": c}) for c in wanted if c in known]

    async def lookup(self, query: str) -> List[Candidate]:
        hits = (await self.search(query, limit=5)).data
        return [Candidate(h.slug, h.name or h.slug, [], {"score": h.score}) for h in hits]

    # Readers of the stored snapshot --------------------------------------------------------
    @classmethod
    def _ranked(cls, snap: SnapshotFiles) -> Iterator[Tuple[StoredFile, Dict[str, Any]]]:
        """(file, entry) of every ranking (history and movers left out) that names a model."""
        for f in snap.files(cls.api, "rankings_"):
            if not f.name.endswith(("_history", "_movers")):
                yield from ((f, e) for e in f.rows("data") if (e.get("model") or {}).get("slug"))

    @classmethod
    def candidates(cls, snap: SnapshotFiles) -> List[Candidate]:
        found: Dict[str, Candidate] = {}
        for _, item in snap.rows(cls.api, "models", "data"):
            if item.get("slug"):
                slug, provider = item["slug"], (item.get("provider") or {}).get("slug")
                found[slug] = Candidate(slug, item.get("name") or slug,
                                        keys(slug, item.get("name"), provider and f"{provider}/{slug}"),
                                        {"score": item.get("score")})
        for f, entry in cls._ranked(snap):
            model = entry["model"]
            cand = found.setdefault(model["slug"], Candidate(model["slug"], model.get("name") or model["slug"],
                                                             keys(model["slug"], model.get("name"))))
            cand.published[f.name] = {"rank": entry.get("rank"), "score": entry.get("score")}
        return list(found.values())

    @classmethod
    def context(cls, snap: SnapshotFiles, entry_id: str) -> List[ContextMetric]:
        out = Metrics(snap, cls.api)
        f, item = snap.find(cls.api, "models", "data", "slug", entry_id)
        if f and item:
            out.add("score", num(item.get("score")), "score", f)
        for f, row in cls._ranked(snap):
            if row["model"]["slug"] == entry_id:
                category = f.name[len("rankings_"):]
                out.add(f"ranking '{category}' rank", row.get("rank"), "rank", f, row.get("recorded_at"))
                out.add(f"ranking '{category}' score", num(row.get("score")), "score", f, row.get("recorded_at"))
        return out
