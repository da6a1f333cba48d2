"""What a stored snapshot says about a model: its match, published CritPt scores, prices
and context, each read by the registered client of its catalog (stored.py reads the files;
the clients import httpx and pydantic, so they are loaded only when a snapshot is read)."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from .stored import CatalogPrice, ContextMetric, ModelMatch, PublishedScore, SnapshotFiles


def _clients() -> Dict[str, Any]:
    from .registry import CLIENTS  # loaded only when a snapshot is read: the clients import httpx and pydantic

    return CLIENTS


class Snapshot(SnapshotFiles):
    """What a snapshot says about a model: its match, published CritPt scores, prices and
    context, each read by the registered client of its catalog."""

    _scores: Optional[List[PublishedScore]] = None

    def matches(self, name: str, label: Optional[str], explicit: Dict[str, str]) -> List[ModelMatch]:
        """The stored matches when they are for this model; else matched here, offline."""
        stored = self._json(self.folder / "matches.json") or {}
        if stored.get("model") == name and stored.get("matches"):
            return [ModelMatch(m.get("catalog", "?"), m.get("query", name), m.get("entry_id"), m.get("entry_name"),
                               m.get("method", "?"), float(m.get("confidence") or 0.0), m.get("note") or "",
                               "matches.json", list(m.get("candidates") or []))
                    for m in stored["matches"]]
        from .matching import match_offline

        queries = [q for q in dict.fromkeys([name, label or ""]) if q]
        return [ModelMatch(m.catalog, m.query, m.entry_id, m.entry_name, m.method, m.confidence, m.note, "report",
                           list(m.candidates)) for m in match_offline(self, queries, explicit)]

    def critpt_scores(self) -> List[PublishedScore]:
        """Every CritPt score in the snapshot (for the leaderboard); read once per snapshot, as
        published_for asks for them once per match."""
        if self._scores is None:
            self._scores = [s for client in _clients().values() for s in client.published_scores(self)]
        return self._scores

    def published_for(self, match: ModelMatch) -> List[PublishedScore]:
        if not match.entry_id:
            return []
        return [s for s in self.critpt_scores() if s.catalog == match.catalog and s.model_id == match.entry_id]

    def prices_for(self, match: ModelMatch) -> List[CatalogPrice]:
        client = _clients().get(match.catalog)
        return client.prices(self, match.entry_id) if client and match.entry_id else []

    def context_for(self, match: ModelMatch) -> List[ContextMetric]:
        """Indexes, prices, speed and ranks the catalog publishes for the matched entry."""
        client = _clients().get(match.catalog)
        return client.context(self, match.entry_id) if client and match.entry_id else []
