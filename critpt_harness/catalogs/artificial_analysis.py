"""Artificial Analysis free data API (``x-api-key``; 1,000 requests/day; cache and attribute).

Model and creator ``id``s are the stable keys; names and slugs may change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar, Dict, List, Optional

from .base import CatalogClient, CatalogModel, CatalogResponse

MEDIA_KINDS = ("text-to-image", "image-editing", "text-to-speech", "text-to-video", "image-to-video")
# Only these media endpoints document include_categories=true.
CATEGORY_KINDS = frozenset({"text-to-image", "text-to-video", "image-to-video"})
ENDPOINTS = ("llms",) + MEDIA_KINDS


class Creator(CatalogModel):
    id: Optional[str] = None
    name: Optional[str] = None
    slug: Optional[str] = None


@dataclass(frozen=True)
class CritPtScore:
    key: str  # the evaluations key it was read from, e.g. "critpt"
    value: float


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


class LLMModel(CatalogModel):
    id: str
    name: Optional[str] = None
    slug: Optional[str] = None
    model_creator: Optional[Creator] = None
    # Values are numbers today; Any keeps a snapshot alive if one ever is not.
    evaluations: Dict[str, Any] = {}
    pricing: Dict[str, Any] = {}
    median_output_tokens_per_second: Optional[float] = None
    median_time_to_first_token_seconds: Optional[float] = None

    def critpt_score(self) -> Optional[CritPtScore]:
        """The CritPt score when ``evaluations`` carries one. The documents list no CritPt key,
        so any key that reads "critpt" once case, '_' and '-' are dropped is accepted
        ("critpt", "CritPt", "crit_pt"), then keys starting with it ("critpt_accuracy")."""
        items = [(k, v) for k, v in self.evaluations.items()
                 if isinstance(v, (int, float)) and not isinstance(v, bool)]
        for key, value in items:
            if _squash(key) == "critpt":
                return CritPtScore(key, float(value))
        for key, value in sorted(items):
            if _squash(key).startswith("critpt"):
                return CritPtScore(key, float(value))
        return None


class LLMModelsResponse(CatalogResponse):
    status: Optional[int] = None
    prompt_options: Dict[str, Any] = {}
    data: List[LLMModel]

    def by_id(self) -> Dict[str, LLMModel]:
        return {m.id: m for m in self.data}

    def critpt_scores(self) -> Dict[str, CritPtScore]:
        """{model id: score} for the models that have a CritPt score."""
        return {m.id: s for m in self.data if (s := m.critpt_score()) is not None}


class MediaCategory(CatalogModel):
    style_category: Optional[str] = None
    subject_matter_category: Optional[str] = None
    format_category: Optional[str] = None
    elo: Optional[float] = None
    ci95: Optional[str] = None
    appearances: Optional[int] = None


class MediaModel(CatalogModel):
    id: str
    name: Optional[str] = None
    slug: Optional[str] = None
    model_creator: Optional[Creator] = None
    elo: Optional[float] = None
    rank: Optional[int] = None
    ci95: Optional[str] = None
    appearances: Optional[int] = None
    release_date: Optional[str] = None
    categories: Optional[List[MediaCategory]] = None


class MediaResponse(CatalogResponse):
    status: Optional[int] = None
    include_categories: Optional[bool] = None
    data: List[MediaModel]


class ArtificialAnalysisClient(CatalogClient):
    api: ClassVar[str] = "artificial_analysis"
    title: ClassVar[str] = "Artificial Analysis"
    attribution: ClassVar[str] = "Data from Artificial Analysis, https://artificialanalysis.ai/"
    endpoints: ClassVar[tuple[str, ...]] = ENDPOINTS

    def auth_headers(self) -> Dict[str, str]:
        return {"x-api-key": self.api_key or ""}

    async def llm_models(self) -> LLMModelsResponse:
        """GET /data/llms/models: every LLM with evaluations, pricing and speed."""
        return self.parse(LLMModelsResponse, await self.get("data/llms/models"))

    async def media(self, kind: str, include_categories: bool = False) -> MediaResponse:
        """GET /data/media/{kind}: ELO leaderboard; categories only where documented."""
        if kind not in MEDIA_KINDS:
            raise self.reject(f"unknown media leaderboard {kind!r}: use one of {', '.join(MEDIA_KINDS)}")
        if include_categories and kind not in CATEGORY_KINDS:
            raise self.reject(f"include_categories is not documented for {kind}: it is offered by "
                              f"{', '.join(sorted(CATEGORY_KINDS))}")
        params = {"include_categories": True} if include_categories else None
        return self.parse(MediaResponse, await self.get(f"data/media/{kind}", params))

    async def fetch(self, endpoint: str) -> List[tuple[str, CatalogResponse]]:
        """A configured snapshot endpoint as [(file name, response)]."""
        if endpoint == "llms":
            return [("llms_models", await self.llm_models())]
        include = bool(getattr(self.cfg, "include_categories", False)) and endpoint in CATEGORY_KINDS
        return [(f"media_{endpoint}", await self.media(endpoint, include_categories=include))]
