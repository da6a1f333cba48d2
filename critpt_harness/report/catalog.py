"""What a stored catalog snapshot says about a model: its match, its published
CritPt score, its prices and other context, each with the file and fetch time
it came from. Reads files only; never asks a catalog.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

log = logging.getLogger(__name__)

TITLES = {"artificial_analysis": "Artificial Analysis", "openrouter": "OpenRouter",
          "llm_registry": "LLM Registry", "aimodelsmap": "AI Models Map"}
# What each provider asks for when its data is shown (also in the snapshot's index.json).
ATTRIBUTIONS = {
    "artificial_analysis": "Data from Artificial Analysis, https://artificialanalysis.ai/",
    "openrouter": "Benchmark data via OpenRouter, https://openrouter.ai/rankings",
    "llm_registry": "Data from LLM Registry, https://llm-registry.com",
    "aimodelsmap": "Data from AI Models Map, https://aimodelsmap.com",
}


@dataclass
class StoredFile:
    api: str
    name: str
    path: Path
    response: Any
    fetched_at: Optional[str]
    source_url: Optional[str]
    attribution: Optional[str]


@dataclass
class ModelMatch:
    catalog: str
    query: str
    entry_id: Optional[str]
    entry_name: Optional[str]
    method: str
    confidence: float
    note: str = ""
    # "matches.json" (matched when the snapshot was taken) or "report" (matched offline now).
    matched_by: str = "matches.json"
    candidates: List[Dict[str, str]] = field(default_factory=list)


@dataclass
class PublishedScore:
    """A CritPt score a catalog publishes, in percent."""

    catalog: str
    model_id: str
    model_name: str
    percent: float
    raw: float
    field: str  # where in the reply, e.g. "evaluations.critpt"
    file: str  # relative to the report's run folder (or absolute)
    fetched_at: Optional[str]
    as_of: Optional[str] = None
    note: str = ""


@dataclass
class ContextMetric:
    catalog: str
    metric: str
    value: Any
    unit: str
    file: str
    fetched_at: Optional[str]
    as_of: Optional[str] = None


@dataclass
class CatalogPrice:
    catalog: str
    input_per_million: float
    output_per_million: float
    field: str
    file: str
    fetched_at: Optional[str]
    entry_name: str


def _num(value: Any) -> Optional[float]:
    """Numbers and numeric strings (OpenRouter prices are strings); else None."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def aa_percent(value: float) -> float:
    """Artificial Analysis publishes benchmark scores as fractions (gpqa 0.748); a value
    above 1 can only be a percentage already."""
    return value * 100 if value <= 1 else value


class Snapshot:
    """One catalog snapshot folder (``<run>/catalog`` or a shared one)."""

    def __init__(self, folder: Path, shown_relative_to: Optional[Path] = None):
        self.folder = Path(folder)
        self.base = shown_relative_to
        self.index: Dict[str, Any] = self._json(self.folder / "index.json") or {}
        self._files: Dict[Tuple[str, str], Optional[StoredFile]] = {}

    @staticmethod
    def exists_at(folder: Path) -> bool:
        return (Path(folder) / "index.json").exists()

    def _json(self, path: Path) -> Any:
        if not path.exists():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            log.warning("%s is not valid JSON (%s); ignored in the report", path, exc)
            return None

    def shown(self, path: Path) -> str:
        if self.base is not None:
            try:
                return str(path.relative_to(self.base))
            except ValueError:
                pass
        return str(path)

    @property
    def taken_at(self) -> Optional[str]:
        return self.index.get("taken_at")

    def status(self, api: str) -> Optional[str]:
        return (self.index.get("apis", {}).get(api) or {}).get("status")

    def attributions(self) -> List[str]:
        """The attributions the index lists (the APIs that returned data)."""
        found = list(self.index.get("attributions") or [])
        for api, summary in (self.index.get("apis") or {}).items():
            text = (summary or {}).get("attribution")
            if summary and summary.get("endpoints") and text and text not in found:
                found.append(text)
        return found

    def file(self, api: str, name: str) -> Optional[StoredFile]:
        key = (api, name)
        if key not in self._files:
            path = self.folder / api / f"{name}.json"
            data = self._json(path)
            self._files[key] = None if not isinstance(data, dict) else StoredFile(
                api, name, path, data.get("response"), data.get("fetched_at"), data.get("source_url"),
                data.get("attribution"))
        return self._files[key]

    def files(self, api: str, prefix: str) -> List[StoredFile]:
        names = sorted(p.stem for p in (self.folder / api).glob(f"{prefix}*.json"))
        return [f for f in (self.file(api, n) for n in names) if f is not None]

    # Matching -------------------------------------------------------------------------------
    def matches(self, name: str, label: Optional[str], explicit: Dict[str, str]) -> List[ModelMatch]:
        """The stored matches when they are for this model; else matched here, offline."""
        stored = self._json(self.folder / "matches.json") or {}
        if stored.get("model") == name and stored.get("matches"):
            return [ModelMatch(m.get("catalog", "?"), m.get("query", name), m.get("entry_id"), m.get("entry_name"),
                               m.get("method", "?"), float(m.get("confidence") or 0.0), m.get("note") or "",
                               "matches.json", list(m.get("candidates") or []))
                    for m in stored["matches"]]
        from ..catalogs.matching import CANDIDATES, match_in  # offline: reads the snapshot's files

        queries = [q for q in dict.fromkeys([name, label or ""]) if q]
        out = []
        for catalog, loader in CANDIDATES.items():
            if self.status(catalog) in ("skipped", "disabled", None) and catalog not in explicit:
                status = self.status(catalog) or "absent"
                out.append(ModelMatch(catalog, queries[0], None, None, "unavailable", 0.0,
                                      f"catalog {status} in this snapshot", "report"))
                continue
            try:
                m = match_in(catalog, loader(self.folder), queries, explicit.get(catalog))
            except (OSError, ValueError) as exc:  # a damaged file: report it, keep going
                out.append(ModelMatch(catalog, queries[0], None, None, "unavailable", 0.0,
                                      f"snapshot files unreadable: {exc}", "report"))
                continue
            out.append(ModelMatch(m.catalog, m.query, m.entry_id, m.entry_name, m.method, m.confidence, m.note,
                                  "report", list(m.candidates)))
        return out

    # Published CritPt scores ----------------------------------------------------------------
    def _aa_models(self) -> Tuple[Optional[StoredFile], List[Dict[str, Any]]]:
        f = self.file("artificial_analysis", "llms_models")
        data = (f.response or {}).get("data") if f and isinstance(f.response, dict) else None
        return f, [m for m in (data or []) if isinstance(m, dict) and m.get("id")]

    def critpt_scores(self) -> List[PublishedScore]:
        """Every CritPt score in the snapshot (for the leaderboard)."""
        from ..catalogs.artificial_analysis import LLMModel

        out: List[PublishedScore] = []
        f, models = self._aa_models()
        for item in models:
            try:
                score = LLMModel.model_validate(item).critpt_score()
            except ValueError:
                continue
            if score is not None:
                out.append(PublishedScore("artificial_analysis", item["id"], item.get("name") or item["id"],
                                          aa_percent(score.value), score.value, f"evaluations.{score.key}",
                                          self.shown(f.path), f.fetched_at,  # type: ignore[union-attr]  # models come from f
                                          note="fraction in the API, shown in percent" if score.value <= 1 else ""))
        scores = self.file("llm_registry", "scores")
        rows = (scores.response or {}).get("scores") if scores and isinstance(scores.response, dict) else None
        maxima = self._registry_max_scores()
        for row in rows or []:
            bench = str(row.get("benchmarkId") or "")
            value = _num(row.get("score"))
            if not _squash(bench).startswith("critpt") or value is None or not row.get("modelId"):
                continue
            top = maxima.get(bench) or 100.0
            note = f"source: {row['sourceId']}" if row.get("sourceId") else ""
            out.append(PublishedScore("llm_registry", row["modelId"], row.get("modelName") or row["modelId"],
                                      value / top * 100, value, f"scores[{bench}].score",
                                      self.shown(scores.path), scores.fetched_at, row.get("asOfDate"), note))  # type: ignore[union-attr]  # rows come from scores
        return out

    def _registry_max_scores(self) -> Dict[str, float]:
        f = self.file("llm_registry", "benchmarks")
        rows = (f.response or {}).get("benchmarks") if f and isinstance(f.response, dict) else None
        return {b["id"]: m for b in rows or [] if b.get("id") and (m := _num(b.get("maxScore")))}

    def published_for(self, match: ModelMatch) -> List[PublishedScore]:
        if not match.entry_id:
            return []
        return [s for s in self.critpt_scores() if s.catalog == match.catalog and s.model_id == match.entry_id]

    # Prices and context ---------------------------------------------------------------------
    def prices_for(self, match: ModelMatch) -> List[CatalogPrice]:
        if not match.entry_id:
            return []
        out: List[CatalogPrice] = []
        if match.catalog == "artificial_analysis":
            f, models = self._aa_models()
            item = next((m for m in models if m["id"] == match.entry_id), None)
            pricing = (item or {}).get("pricing") or {}
            i, o = _num(pricing.get("price_1m_input_tokens")), _num(pricing.get("price_1m_output_tokens"))
            if f and i is not None and o is not None:
                out.append(CatalogPrice(match.catalog, i, o, "pricing.price_1m_input_tokens / price_1m_output_tokens",
                                        self.shown(f.path), f.fetched_at, item.get("name") or match.entry_id))  # type: ignore[union-attr]  # item is set when pricing is
        elif match.catalog == "openrouter":
            for f, item in self._openrouter_items(match.entry_id):
                pricing = item.get("pricing") or {}
                i, o = _num(pricing.get("prompt")), _num(pricing.get("completion"))
                if i is not None and o is not None:  # USD per token
                    out.append(CatalogPrice(match.catalog, i * 1e6, o * 1e6, "pricing.prompt / completion (per token)",
                                            self.shown(f.path), f.fetched_at, item.get("display_name") or match.entry_id))
                    break
        elif match.catalog == "llm_registry":
            f = self.file("llm_registry", "models")
            rows = (f.response or {}).get("models") if f and isinstance(f.response, dict) else None
            item = next((m for m in rows or [] if m.get("id") == match.entry_id), None)
            pricing = ((item or {}).get("specs") or {}).get("pricing") or {}
            i, o = _num(pricing.get("input")), _num(pricing.get("output"))
            if f and i is not None and o is not None:
                out.append(CatalogPrice(match.catalog, i, o, "specs.pricing.input / output", self.shown(f.path),
                                        f.fetched_at, item.get("name") or match.entry_id))  # type: ignore[union-attr]  # item is set when pricing is
        return out

    def _openrouter_items(self, slug: str) -> List[Tuple[StoredFile, Dict[str, Any]]]:
        found = []
        for f in self.files("openrouter", "benchmarks"):
            rows = (f.response or {}).get("data") if isinstance(f.response, dict) else None
            found += [(f, r) for r in rows or [] if isinstance(r, dict) and r.get("model_permaslug") == slug]
        return found

    def context_for(self, match: ModelMatch) -> List[ContextMetric]:
        """Indexes, prices, speed and ranks the catalog publishes for the matched entry."""
        if not match.entry_id:
            return []
        c, out = match.catalog, []

        def add(metric: str, value: Any, unit: str, f: StoredFile, as_of: Optional[str] = None) -> None:
            if value is not None:
                out.append(ContextMetric(c, metric, value, unit, self.shown(f.path), f.fetched_at, as_of))

        if c == "artificial_analysis":
            f, models = self._aa_models()
            item = next((m for m in models if m["id"] == match.entry_id), None)
            if f and item:
                ev, pr = item.get("evaluations") or {}, item.get("pricing") or {}
                add("Intelligence Index", _num(ev.get("artificial_analysis_intelligence_index")), "index", f)
                add("Coding Index", _num(ev.get("artificial_analysis_coding_index")), "index", f)
                add("Math Index", _num(ev.get("artificial_analysis_math_index")), "index", f)
                add("price, input", _num(pr.get("price_1m_input_tokens")), "USD / 1M tokens", f)
                add("price, output", _num(pr.get("price_1m_output_tokens")), "USD / 1M tokens", f)
                add("price, blended 3:1", _num(pr.get("price_1m_blended_3_to_1")), "USD / 1M tokens", f)
                add("output speed (median)", _num(item.get("median_output_tokens_per_second")), "tokens/s", f)
                add("time to first token (median)", _num(item.get("median_time_to_first_token_seconds")), "s", f)
        elif c == "openrouter":
            for f, item in self._openrouter_items(match.entry_id):
                meta = (f.response or {}).get("meta") or {}
                as_of = meta.get("as_of")
                src = item.get("source") or meta.get("source") or ""
                tag = f" ({src})" if src else ""
                for key, label in (("intelligence_index", "Intelligence Index"), ("coding_index", "Coding Index"),
                                   ("agentic_index", "Agentic Index")):
                    add(label + tag, _num(item.get(key)), "index", f, as_of)
                if item.get("elo") is not None:
                    where = "/".join(str(item[k]) for k in ("arena", "category") if item.get(k))
                    add(f"ELO{tag}" + (f" {where}" if where else ""), _num(item.get("elo")), "ELO", f, as_of)
                pricing = item.get("pricing") or {}
                for key, label in (("prompt", "price, input"), ("completion", "price, output")):
                    v = _num(pricing.get(key))
                    add(label, None if v is None else round(v * 1e6, 6), "USD / 1M tokens", f, as_of)
        elif c == "llm_registry":
            for f in self.files("llm_registry", "leaderboard_"):
                rows = (f.response or {}).get("leaderboard") if isinstance(f.response, dict) else None
                row = next((r for r in rows or [] if r.get("modelId") == match.entry_id), None)
                if row:
                    category = f.name[len("leaderboard_"):]
                    add(f"leaderboard '{category}' rank", row.get("rank"), "rank", f)
                    add(f"leaderboard '{category}' average", _num(row.get("average")), "score", f)
            for p in self.prices_for(match):
                f2 = self.file("llm_registry", "models")
                if f2:
                    add("price, input", p.input_per_million, "USD / 1M tokens", f2)
                    add("price, output", p.output_per_million, "USD / 1M tokens", f2)
        elif c == "aimodelsmap":
            f = self.file("aimodelsmap", "models")
            rows = (f.response or {}).get("data") if f and isinstance(f.response, dict) else None
            item = next((m for m in rows or [] if m.get("slug") == match.entry_id), None)
            if f and item:
                add("score", _num(item.get("score")), "score", f)
            for f in self.files("aimodelsmap", "rankings_"):
                if f.name.endswith(("_history", "_movers")):
                    continue
                rows = (f.response or {}).get("data") if isinstance(f.response, dict) else None
                row = next((r for r in rows or [] if (r.get("model") or {}).get("slug") == match.entry_id), None)
                if row:
                    category = f.name[len("rankings_"):]
                    add(f"ranking '{category}' rank", row.get("rank"), "rank", f, row.get("recorded_at"))
                    add(f"ranking '{category}' score", _num(row.get("score")), "score", f, row.get("recorded_at"))
        return out


def _squash(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())
