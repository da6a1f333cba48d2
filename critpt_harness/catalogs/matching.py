"""Find the run's model in each catalog, and say how sure the match is.

Order: an explicit id (config) wins; then an exact id/slug/name; then names
compared after normalising case and separators; then the same without date or
":variant" suffixes; then the catalog's own fuzzy search where it has one
(AI Models Map's typo-tolerant search). Several
equally good candidates are reported as ambiguous, never picked silently; near
misses are listed as suggestions with no match.
"""

from __future__ import annotations

import asyncio
import difflib
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Type

from ..errors import MissingKeyError
from . import registry
from .base import CatalogClient
from ..config.catalog import CatalogConfig
from .errors import CatalogError
from .stored import Candidate, SnapshotFiles

__all__ = ["Candidate", "MatchResult", "match_in", "match_offline", "match_model", "normalise", "strip_version"]

CONFIDENCE = {"explicit": 1.0, "exact": 0.95, "normalised": 0.85, "version-stripped": 0.7, "search": 0.5}
_DATE_SUFFIX = re.compile(r"-(?:\d{8}|\d{4}-\d{2}-\d{2}|\d{4}|latest)$")


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


async def _search(cfg: CatalogConfig, client_cls: Type[CatalogClient], query: str) -> Optional[MatchResult]:
    """The catalog's own fuzzy search: the top hit, as a low-confidence match."""
    try:
        async with client_cls(cfg) as client:
            found = await client.lookup(query)
    except (MissingKeyError, CatalogError):
        return None
    if not found:
        return None
    top, api = found[0], client_cls.api
    return MatchResult(api, query, top.id, top.name, "search", CONFIDENCE["search"],
                       [_summary(c) for c in found[1:]], top.published,
                       note=f"typo-tolerant search result: check it, then pin it with catalog.model_ids.{api}={top.id}")


def match_offline(snap: SnapshotFiles, queries: List[str], explicit: Dict[str, str]) -> List[MatchResult]:
    """One result per registered catalog from the snapshot's files alone."""
    results = []
    for catalog, client in registry.CLIENTS.items():
        status = snap.status(catalog)
        if status in ("skipped", "disabled", None) and catalog not in explicit:
            results.append(MatchResult(catalog, queries[0], None, None, "unavailable", 0.0,
                                       note=f"catalog {status or 'absent'} in this snapshot"))
            continue
        try:
            results.append(match_in(catalog, client.candidates(snap), queries, explicit.get(catalog)))
        except (OSError, ValueError) as exc:  # a damaged file: report it, keep going
            results.append(MatchResult(catalog, queries[0], None, None, "unavailable", 0.0,
                                       note=f"snapshot files unreadable: {exc}"))
    return results


def match_model(cfg: CatalogConfig, snapshot: Path, name: str, label: Optional[str] = None,
                explicit: Optional[Dict[str, str]] = None) -> List[MatchResult]:
    """One result per catalog for the model ``name`` (and ``label``) against a snapshot folder;
    a catalog that offers a fuzzy search is asked when no name matches (catalog.search_fallback)."""
    queries = [q for q in dict.fromkeys([name, label or ""]) if q]
    results = match_offline(SnapshotFiles(snapshot), queries, explicit or {})
    for i, result in enumerate(results):
        client = registry.CLIENTS[result.catalog]
        if result.method == "none" and client.searches and cfg.search_fallback and cfg.apis()[result.catalog].enabled:
            found = asyncio.run(_search(cfg, client, name))
            if found is not None:
                found.candidates = found.candidates or result.candidates
                results[i] = found
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
