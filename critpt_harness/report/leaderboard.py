"""The CritPt leaderboard a run is placed in: the official table shipped with
the tool, plus CritPt scores the catalog snapshots publish, plus the runs.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from ..errors import ConfigError
from .catalog import TITLES, PublishedScore
from .data import RunData

SHIPPED = Path(__file__).resolve().parent.parent / "data" / "critpt_leaderboard.json"


@dataclass
class OfficialTable:
    title: str
    source: str
    source_url: str
    as_of: str
    metric: str
    attribution: str
    entries: List[Dict[str, Any]]
    file: str
    version: Optional[str] = None  # the CritPt version its scores were made on; None: not said (then v1)


@dataclass
class Entry:
    name: str
    percent: float
    kind: str  # official | catalog | run
    source: str  # where the number comes from, with its date
    ci_low: Optional[float] = None  # percent, runs only
    ci_high: Optional[float] = None
    run_path: Optional[str] = None
    note: str = ""


@dataclass
class Placement:
    rank: int  # 1 = best
    out_of: int
    above: List[str] = field(default_factory=list)  # the entries just above and below
    below: List[str] = field(default_factory=list)


def load_official(path: Optional[str] = None) -> OfficialTable:
    file = Path(path) if path else SHIPPED
    if not file.exists():
        raise ConfigError(f"report.leaderboard_file={path}: no such file (use the shipped table: leave it null)")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
        entries = [e for e in data["entries"] if isinstance(e.get("score"), (int, float))]
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"{file}: not a CritPt table (needs entries: [{{model, score}}]): {exc}") from exc
    return OfficialTable(data.get("title", "CritPt leaderboard"), data.get("source", str(file)),
                         data.get("source_url", ""), str(data.get("as_of", "")), data.get("metric", ""),
                         data.get("attribution", ""), entries, str(file), data.get("version"))


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def official_match(table: OfficialTable, run: RunData) -> Optional[Dict[str, Any]]:
    """The official entry for this run's model and settings: label or name among its aliases."""
    names = {_key(run.label), _key(run.model_name)}
    for e in table.entries:
        keys = {_key(a) for a in e.get("aliases", [])} | {_key(e["model"])}
        if names & keys:
            return e
    return None


def settings_differ(entry: Dict[str, Any], run: RunData) -> List[str]:
    out = []
    for key, mine in (("use_python", run.use_python), ("use_web_search", run.use_web_search)):
        if key in entry and bool(entry[key]) != mine:
            out.append(f"generation.{key}: published {str(bool(entry[key])).lower()}, this run {str(mine).lower()}")
    return out


def catalog_entries(scores: List[PublishedScore]) -> List[Entry]:
    """One entry per (catalog, model), the most recently fetched value winning."""
    latest: Dict[tuple, PublishedScore] = {}
    for s in scores:
        key = (s.catalog, s.model_id)
        if key not in latest or (s.fetched_at or "") > (latest[key].fetched_at or ""):
            latest[key] = s
    out = []
    for s in latest.values():
        when = f"as of {s.as_of}, " if s.as_of else ""
        out.append(Entry(s.model_name, s.percent, "catalog",
                         f"{TITLES.get(s.catalog, s.catalog)} `{s.field}` ({when}fetched {s.fetched_at or '?'})",
                         note=s.note))
    return out


def display_names(runs: List[RunData]) -> Dict[Path, str]:
    """A name per run that tells runs apart: the label, plus, when two runs share it, the provider
    where that alone tells them apart, else the folder."""
    out = {}
    for r in runs:
        same = [o.provider for o in runs if o.label == r.label]
        tag = r.provider if r.provider and same.count(r.provider) == 1 else r.path.name
        out[r.path] = f"{r.label} ({tag})" if len(same) > 1 else r.label
    return out


def other_version(run: RunData, table: Optional[OfficialTable]) -> bool:
    """The run's problems are another CritPt version than the one the table's scores were made on."""
    return table is not None and run.provenance.public_set and not run.provenance.on_version(table.version)


def run_entry(run: RunData, table: Optional[OfficialTable] = None, name: Optional[str] = None) -> Optional[Entry]:
    """The run as a leaderboard entry; None unless its score may be ranked (see provenance) among the
    table's, which were made on one CritPt version."""
    s = run.stats
    if s.mean is None or not run.provenance.ranked or other_version(run, table):
        return None
    when = run.graded_dates[-1][:10] if run.graded_dates else "?"
    return Entry(name or f"{run.label} (this run)", 100 * s.mean, "run",
                 f"results.json, {s.n} epochs graded, last {when}",
                 None if s.ci_low is None else 100 * s.ci_low, None if s.ci_high is None else 100 * s.ci_high,
                 str(run.path))


def build(table: OfficialTable, runs: List[RunData], with_catalogs: bool = True) -> List[Entry]:
    """Official + catalog + run entries, best first."""
    entries = [Entry(e["model"], float(e["score"]), "official",
                     f"{table.source} ({table.as_of})" + (f"; {e['note']}" if e.get("note") else ""),
                     note=e.get("note", "")) for e in table.entries]
    if with_catalogs:
        entries += catalog_entries([s for r in runs if r.catalog for s in r.catalog.all_scores])
    names = display_names(runs)
    for r in runs:  # only official, independent gradings of the full public set are ranked
        e = run_entry(r, table, None if len(runs) == 1 else f"{names[r.path]} (run)")
        if e is not None:
            entries.append(e)
    # Stable: ties keep the official table's order, and a run goes first among its ties.
    return sorted(entries, key=lambda e: (-e.percent, e.kind != "run"))


def place(entries: List[Entry], run: Entry) -> Placement:
    """Rank of a run among the official table's entries, the published scores made on a known CritPt
    version (catalog rows do not say which version they were made on; other runs are left out);
    ties go to the run."""
    others = [e for e in entries if e.kind == "official"]
    better = [e for e in others if e.percent > run.percent]
    worse = [e for e in others if e.percent <= run.percent]
    return Placement(len(better) + 1, len(others) + 1, [f"{e.name} {e.percent:.1f}%" for e in better[-2:]],
                     [f"{e.name} {e.percent:.1f}%" for e in worse[:2]])
