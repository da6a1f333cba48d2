"""Artificial Analysis free data API (``x-api-key``; 1,000 requests/day; cache and attribute).

Model and creator ``id``s are the stable keys; names and slugs may change. The
stored LLM list gives the matching its candidates, the report CritPt scores,
prices, indexes and speed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar, Dict, List, Optional, Tuple

from .base import CatalogClient
from .replies import CatalogModel, CatalogResponse
from .endpoints import Endpoint, Param, Snap, snaps
from .stored import (Candidate, CatalogPrice, ContextMetric, Metrics, PublishedScore, SnapshotFiles, StoredFile, keys,
                     num)

MEDIA_KINDS = ("text-to-image", "image-editing", "text-to-speech", "text-to-video", "image-to-video")
# Only these media endpoints document include_categories=true.
CATEGORY_KINDS = frozenset({"text-to-image", "text-to-video", "image-to-video"})


class Creator(CatalogModel):
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
    data: List[LLMModel]

    def by_id(self) -> Dict[str, LLMModel]:
        return {m.id: m for m in self.data}

    def critpt_scores(self) -> Dict[str, CritPtScore]:
        """{model id: score} for the models that have a CritPt score."""
        return {m.id: s for m in self.data if (s := m.critpt_score()) is not None}


class MediaModel(CatalogModel):
    id: str
    categories: Optional[List[CatalogModel]] = None  # only where include_categories is documented


class MediaResponse(CatalogResponse):
    data: List[MediaModel]


def _media_kind(name: str, kind: Any) -> Any:
    if kind not in MEDIA_KINDS:
        raise ValueError(f"unknown media leaderboard {kind!r}: use one of {', '.join(MEDIA_KINDS)}")
    return kind


def _categories_where_documented(values: Dict[str, Any]) -> None:
    if values.get("include_categories") and values["kind"] not in CATEGORY_KINDS:
        raise ValueError(f"include_categories is not documented for {values['kind']}: it is offered by "
                         f"{', '.join(sorted(CATEGORY_KINDS))}")


def aa_percent(value: float) -> float:
    """Artificial Analysis publishes benchmark scores as fractions (gpqa 0.748); a value
    above 1 can only be a percentage already."""
    return value * 100 if value <= 1 else value


class ArtificialAnalysisClient(CatalogClient):
    api: ClassVar[str] = "artificial_analysis"
    title: ClassVar[str] = "Artificial Analysis"
    attribution: ClassVar[str] = "Data from Artificial Analysis, https://artificialanalysis.ai/"
    key_header = ("x-api-key", "{}")

    # GET /data/llms/models: every LLM with evaluations, pricing and speed.
    llm_models = Endpoint("data/llms/models", LLMModelsResponse)
    # GET /data/media/{kind}: ELO leaderboard; categories only where documented (true or not sent).
    media = Endpoint("data/media/{kind}", MediaResponse, Param("kind", _media_kind),
                     Param("include_categories", lambda _, v: True if v else None), check=_categories_where_documented)

    snapshot_files = snaps({"llms": Snap("llm_models", "llms_models"),
                            **{kind: Snap("media", "media_{}", each="media_kind") for kind in MEDIA_KINDS}})

    async def media_kind(self, kind: str) -> List[Tuple[str, Dict[str, Any]]]:
        include = bool(getattr(self.cfg, "include_categories", False)) and kind in CATEGORY_KINDS
        return [(kind, {"kind": kind, "include_categories": include})]

    # Readers of the stored snapshot --------------------------------------------------------
    @classmethod
    def _models(cls, snap: SnapshotFiles) -> List[Tuple[StoredFile, Dict[str, Any]]]:
        return [(f, m) for f, m in snap.rows(cls.api, "llms_models", "data") if m.get("id")]

    @classmethod
    def candidates(cls, snap: SnapshotFiles) -> List[Candidate]:
        out = []
        for _, item in cls._models(snap):
            model = LLMModel.model_validate(item)
            creator = (model.model_creator.slug if model.model_creator else None) or ""
            score = model.critpt_score()
            published = {"critpt": {"key": f"evaluations.{score.key}", "value": score.value} if score else None,
                         "evaluations": model.evaluations}
            out.append(Candidate(model.id, model.name or model.id,
                                 keys(model.id, model.slug, model.name, creator and f"{creator}/{model.slug}"),
                                 published))
        return out

    @classmethod
    def published_scores(cls, snap: SnapshotFiles) -> List[PublishedScore]:
        out = []
        for f, item in cls._models(snap):
            try:
                score = LLMModel.model_validate(item).critpt_score()
            except ValueError:
                continue
            if score is not None:
                out.append(PublishedScore(cls.api, item["id"], item.get("name") or item["id"], aa_percent(score.value),
                                          score.value, f"evaluations.{score.key}", snap.shown(f.path), f.fetched_at,
                                          note="fraction in the API, shown in percent" if score.value <= 1 else ""))
        return out

    @classmethod
    def prices(cls, snap: SnapshotFiles, entry_id: str) -> List[CatalogPrice]:
        f, item = snap.find(cls.api, "llms_models", "data", "id", entry_id)
        pricing = (item or {}).get("pricing") or {}
        i, o = num(pricing.get("price_1m_input_tokens")), num(pricing.get("price_1m_output_tokens"))
        if f is None or item is None or i is None or o is None:
            return []
        return [CatalogPrice(cls.api, i, o, "pricing.price_1m_input_tokens / price_1m_output_tokens",
                             snap.shown(f.path), f.fetched_at, item.get("name") or entry_id)]

    @classmethod
    def context(cls, snap: SnapshotFiles, entry_id: str) -> List[ContextMetric]:
        out = Metrics(snap, cls.api)
        f, item = snap.find(cls.api, "llms_models", "data", "id", entry_id)
        if f is None or item is None:
            return out
        ev, pr = item.get("evaluations") or {}, item.get("pricing") or {}
        for key, label in (("intelligence", "Intelligence Index"), ("coding", "Coding Index"), ("math", "Math Index")):
            out.add(label, num(ev.get(f"artificial_analysis_{key}_index")), "index", f)
        for key, label in (("input_tokens", "price, input"), ("output_tokens", "price, output"),
                           ("blended_3_to_1", "price, blended 3:1")):
            out.add(label, num(pr.get(f"price_1m_{key}")), "USD / 1M tokens", f)
        out.add("output speed (median)", num(item.get("median_output_tokens_per_second")), "tokens/s", f)
        out.add("time to first token (median)", num(item.get("median_time_to_first_token_seconds")), "s", f)
        return out
