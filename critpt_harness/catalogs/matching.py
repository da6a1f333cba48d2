"""Find the run's model in each catalog, and say how sure the match is.

Order: an explicit id (config) wins; then an exact id/slug/name; then names
compared after normalising case and separators; then the same without date or
":variant" suffixes; then (AI Models Map) its typo-tolerant search. Several
equally good candidates are reported as ambiguous, never picked silently; near
misses are listed as suggestions with no match.
"""

from __future__ import annotations

import asyncio
import difflib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple

from ..errors import MissingKeyError
from .aimodelsmap import AIModelsMapClient
from .artificial_analysis import LLMModel
from ..config.catalog import CatalogConfig
from .errors import CatalogError

CONFIDENCE = {"explicit": 1.0, "exact": 0.95, "normalised": 0.85, "version-stripped": 0.7, "search": 0.5}
_DATE_SUFFIX = re.compile(r"-(?:\d{8}|\d{4}-\d{2}-\d{2}|\d{4}|latest)$")


@dataclass
class Candidate:
    id: str
    name: str
    keys: List[str]  # strings the model may be called by: id, slug, name, provider/slug
    published: Dict[str, Any] = field(default_factory=dict)


@dataclass
class MatchResult:
    catalog: str
    query: str
    entry_id: Optional[str]
    entry_name: Optional[str]
    method: str  # explicit | exact | normalised | version-stripped | search | ambiguous | none | unavailable
    confidence: float
    candidates: List[Dict[str, str]] = field(default_factory=list)
    published: Dict[str, Any] = field(default_factory=dict)
    note: str = ""

    def as_dict(self) -> Dict[str, Any]:
        return asdict(self)


def normalise(text: str) -> str:
    """'OpenAI/GPT-4o:free' -> 'gpt-4o'; 'Claude 3.5 Sonnet' -> 'claude-3-5-sonnet'."""
    tail = text.strip().lower().rsplit("/", 1)[-1].split(":", 1)[0]
    return re.sub(r"[^a-z0-9]+", "-", tail).strip("-")


def strip_version(text: str) -> str:
    out = normalise(text)
    while True:
        shorter = _DATE_SUFFIX.sub("", out)
        if shorter == out or not shorter:
            return out
        out = shorter


# Candidates from a snapshot folder ---------------------------------------------------------------
def _load(folder: Path, api: str, name: str) -> Any:
    path = folder / api / f"{name}.json"
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8")).get("response")


def _files(folder: Path, api: str, prefix: str) -> Iterable[Tuple[str, Any]]:
    for path in sorted((folder / api).glob(f"{prefix}*.json")):
        yield path.stem, json.loads(path.read_text(encoding="utf-8")).get("response")


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(text).lower())


def aa_candidates(folder: Path) -> List[Candidate]:
    raw = _load(folder, "artificial_analysis", "llms_models") or {}
    out = []
    for item in raw.get("data") or []:
        model = LLMModel.model_validate(item)
        creator = (model.model_creator.slug if model.model_creator else None) or ""
        keys = [k for k in (model.id, model.slug, model.name, f"{creator}/{model.slug}" if creator else None) if k]
        score = model.critpt_score()
        published = {"critpt": {"key": f"evaluations.{score.key}", "value": score.value} if score else None,
                     "evaluations": model.evaluations}
        out.append(Candidate(model.id, model.name or model.id, keys, published))
    return out


def openrouter_candidates(folder: Path) -> List[Candidate]:
    found: Dict[str, Candidate] = {}
    for name, raw in _files(folder, "openrouter", "benchmarks"):
        for item in (raw or {}).get("data") or []:
            slug = item.get("model_permaslug")
            if not slug:
                continue
            cand = found.setdefault(slug, Candidate(slug, item.get("display_name") or slug,
                                                    [k for k in (slug, item.get("display_name")) if k]))
            # One file may list a model once per source (artificial-analysis, design-arena...): keep each.
            key = f"{name}:{item['source']}" if item.get("source") else name
            cand.published[key] = {k: v for k, v in item.items() if k not in ("display_name", "model_permaslug")}
    return list(found.values())


def llm_registry_candidates(folder: Path) -> List[Candidate]:
    found: Dict[str, Candidate] = {}
    for item in (_load(folder, "llm_registry", "models") or {}).get("models") or []:
        mid = item.get("id")
        if mid:
            keys = [k for k in (mid, item.get("name"), f"{item.get('provider')}/{mid}" if item.get("provider") else None) if k]
            found[mid] = Candidate(mid, item.get("name") or mid, keys)
    for name, raw in _files(folder, "llm_registry", "leaderboard_"):
        for entry in (raw or {}).get("leaderboard") or []:
            mid = entry.get("modelId")
            if not mid:
                continue
            cand = found.setdefault(mid, Candidate(mid, entry.get("modelName") or mid,
                                                   [k for k in (mid, entry.get("modelName")) if k]))
            cand.published[name] = {"rank": entry.get("rank"), "average": entry.get("average")}
    for score in (_load(folder, "llm_registry", "scores") or {}).get("scores") or []:
        mid = score.get("modelId")
        if not mid:
            continue
        cand = found.setdefault(mid, Candidate(mid, score.get("modelName") or mid,
                                               [k for k in (mid, score.get("modelName")) if k]))
        if _squash(score.get("benchmarkId", "")).startswith("critpt"):
            cand.published["critpt"] = {"benchmarkId": score.get("benchmarkId"), "score": score.get("score"),
                                        "sourceId": score.get("sourceId"), "asOfDate": score.get("asOfDate")}
    return list(found.values())


def aimodelsmap_candidates(folder: Path) -> List[Candidate]:
    found: Dict[str, Candidate] = {}
    for item in (_load(folder, "aimodelsmap", "models") or {}).get("data") or []:
        slug = item.get("slug")
        if slug:
            provider = (item.get("provider") or {}).get("slug")
            keys = [k for k in (slug, item.get("name"), f"{provider}/{slug}" if provider else None) if k]
            found[slug] = Candidate(slug, item.get("name") or slug, keys, {"score": item.get("score")})
    for name, raw in _files(folder, "aimodelsmap", "rankings_"):
        if name.endswith(("_history", "_movers")):
            continue
        for entry in (raw or {}).get("data") or []:
            model = entry.get("model") or {}
            slug = model.get("slug")
            if not slug:
                continue
            cand = found.setdefault(slug, Candidate(slug, model.get("name") or slug,
                                                    [k for k in (slug, model.get("name")) if k]))
            cand.published[name] = {"rank": entry.get("rank"), "score": entry.get("score")}
    return list(found.values())


CANDIDATES = {"artificial_analysis": aa_candidates, "openrouter": openrouter_candidates,
              "llm_registry": llm_registry_candidates, "aimodelsmap": aimodelsmap_candidates}


# Matching ----------------------------------------------------------------------------------------
def _summary(c: Candidate) -> Dict[str, str]:
    return {"id": c.id, "name": c.name}


def _by(candidates: List[Candidate], query: str, key_fn) -> List[Candidate]:
    target = key_fn(query)
    return [c for c in candidates if target and any(key_fn(k) == target for k in c.keys)]


def match_in(catalog: str, candidates: List[Candidate], queries: List[str],
             explicit: Optional[str] = None) -> MatchResult:
    """Best match of any query among ``candidates`` (no network)."""
    shown = queries[0] if queries else ""
    if explicit:
        hit = next((c for c in candidates if c.id.lower() == explicit.lower()), None)
        note = "" if hit else ("pinned id is not in this snapshot" if candidates
                               else "no data from this catalog in the snapshot; pinned id used as given")
        return MatchResult(catalog, shown, explicit, hit.name if hit else None, "explicit", 1.0,
                           published=hit.published if hit else {}, note=note)
    stages = (("exact", lambda s: s.strip().lower()), ("normalised", normalise), ("version-stripped", strip_version))
    for method, key_fn in stages:
        for query in queries:
            hits = _by(candidates, query, key_fn)
            if len(hits) == 1:
                return MatchResult(catalog, query, hits[0].id, hits[0].name, method, CONFIDENCE[method],
                                   published=hits[0].published)
            if len(hits) > 1:
                return MatchResult(catalog, query, None, None, "ambiguous", 0.0, [_summary(c) for c in hits[:10]],
                                   note=f"{len(hits)} entries match {query!r} ({method}); pin one with "
                                        f"catalog.model_ids.{catalog}=<id>")
    keys = {normalise(k): c for c in candidates for k in c.keys}
    near = difflib.get_close_matches(normalise(shown), list(keys), n=3, cutoff=0.6) if shown else []
    suggestions = [_summary(keys[k]) for k in near]
    note = "no entry matches" + ("; close names listed as candidates (not chosen)" if suggestions else "")
    if not candidates:
        note = "no data from this catalog in the snapshot"
    return MatchResult(catalog, shown, None, None, "none", 0.0, suggestions, note=note)


async def _search(cfg: CatalogConfig, query: str) -> Optional[MatchResult]:
    """AI Models Map's typo-tolerant search: the top hit, as a low-confidence match."""
    try:
        async with AIModelsMapClient(cfg) as client:
            found = await client.search(query, limit=5)
    except (MissingKeyError, CatalogError):
        return None
    if not found.data:
        return None
    top = found.data[0]
    others = [{"id": h.slug, "name": h.name or h.slug} for h in found.data[1:]]
    return MatchResult("aimodelsmap", query, top.slug, top.name, "search", CONFIDENCE["search"], others,
                       {"score": top.score},
                       note="typo-tolerant search result: check it, then pin it with "
                            f"catalog.model_ids.aimodelsmap={top.slug}")


def match_model(cfg: CatalogConfig, snapshot: Path, name: str, label: Optional[str] = None,
                explicit: Optional[Dict[str, str]] = None) -> List[MatchResult]:
    """One result per catalog for the model ``name`` (and ``label``) against a snapshot folder."""
    explicit = explicit or {}
    queries = [q for q in dict.fromkeys([name, label or ""]) if q]
    index_path = snapshot / "index.json"
    apis = json.loads(index_path.read_text(encoding="utf-8")).get("apis", {}) if index_path.exists() else {}
    results = []
    for catalog, loader in CANDIDATES.items():
        status = apis.get(catalog, {}).get("status")
        if status in ("skipped", "disabled") and catalog not in explicit:
            results.append(MatchResult(catalog, queries[0], None, None, "unavailable", 0.0,
                                       note=f"catalog {status} in this snapshot"))
            continue
        result = match_in(catalog, loader(snapshot), queries, explicit.get(catalog))
        if (result.method == "none" and catalog == "aimodelsmap" and cfg.search_fallback
                and cfg.aimodelsmap.enabled):
            found = asyncio.run(_search(cfg, name))
            if found is not None:
                found.candidates = found.candidates or result.candidates
                result = found
        results.append(result)
    return results


def describe(m: MatchResult) -> str:
    """One line for the console."""
    if m.entry_id:
        head = f"{m.catalog}: {m.query!r} -> {m.entry_id}" + (f" ({m.entry_name})" if m.entry_name else "")
        head += f" [{m.method}, confidence {m.confidence:.2f}]"
        critpt = m.published.get("critpt")
        if critpt:
            head += f"; published CritPt: {critpt.get('value', critpt.get('score'))}"
    else:
        head = f"{m.catalog}: {m.query!r} not matched [{m.method}]"
        if m.candidates:
            head += "; candidates: " + ", ".join(c["id"] for c in m.candidates[:5])
    return head + (f" - {m.note}" if m.note else "")
