"""The report's comparison with published scores: the same model's published CritPt score, its
catalog matches, its place in the leaderboard, and the sources to attribute.
"""

from __future__ import annotations

from typing import Dict, List, Optional

from ..provenance import OFFICIAL_GRADER
from ..providers import is_offline
from .catalog import ATTRIBUTIONS, TITLES, ModelMatch
from .data import RunData
from .fmt import interval, pct
from .leaderboard import Entry, OfficialTable, official_match, other_version, place, run_entry, settings_differ
from .render import Bullets, Document, Heading, Image, Para, Table

AA_NOTE = "Artificial Analysis asks for attribution to https://artificialanalysis.ai/ wherever its data is shown."


def comparison(doc: Document, run: RunData, table: OfficialTable, entries: List[Entry], level: int) -> None:
    mine = run_entry(run, table)
    official = official_match(table, run)
    items = []
    if official is not None:
        line = (f"official CritPt table: **{official['model']} {official['score']:.1f}%** "
                f"({table.source}, {table.as_of}, {table.source_url})")
        differ = settings_differ(official, run)
        if differ:
            line += " — settings differ: " + "; ".join(differ)
        if mine is not None and mine.ci_low is not None and mine.ci_high is not None:
            inside = mine.ci_low <= official["score"] <= mine.ci_high
            line += (f"; this run's 95% interval {'includes' if inside else 'excludes'} it "
                     f"(difference {mine.percent - official['score']:+.2f} points)")
        items.append(line)
    if run.catalog is not None:
        for s in run.catalog.published:
            when = f"as of {s.as_of}, " if s.as_of else ""
            items.append(f"{TITLES.get(s.catalog, s.catalog)}: **{s.model_name} {s.percent:.2f}%** "
                         f"(`{s.field}` = {s.raw:g}{'; ' + s.note if s.note else ''}; {when}fetched {s.fetched_at}; "
                         f"{s.file})")
    if not items:
        items.append("no published CritPt score found for this model (official table, catalog snapshot)")
    doc.add(Para("The same model's published CritPt score:"), Bullets(items))

    if run.catalog is not None:
        cat = run.catalog
        doc.add(Heading(level, "Model matching in the catalogs"))
        where = f"snapshot {cat.folder}, taken {cat.taken_at or '?'}" + (
            " (shared snapshot from report.catalog_dir)" if cat.shared else "")
        doc.add(Para(f"The run's model `{run.model_name}` looked up in each catalog ({where}). A match is "
                     "never guessed silently: pin ids with `model.catalog_ids.<catalog>=<id>`."))
        rows = [[TITLES.get(m.catalog, m.catalog), m.query, f"{m.entry_name or ''} (`{m.entry_id}`)" if m.entry_id
                 else "– not matched", m.method, f"{m.confidence:.2f}", _match_note(m),
                 m.matched_by] for m in cat.matches]
        doc.add(Table(["catalog", "query", "entry", "method", "confidence", "note", "matched by"], rows))
    elif not is_offline(run.provider):
        doc.add(Para("No catalog snapshot for this run: take one with `critpt-harness catalog run_dir="
                     f"{run.path}` (or point `report.catalog_dir` at a shared one)."))

    doc.add(Heading(level, "Place in the CritPt leaderboard"))
    if mine is not None:
        p = place(entries, mine)
        doc.add(Para(f"This run ({mine.percent:.2f}%) places **{p.rank} of {p.out_of}** among the official table's "
                     f"scores (CritPt {table.version or 'v1'}; the catalogs' CritPt scores, whose version is not "
                     "stated, are listed in the leaderboard but not counted)"
                     + (f"; just above: {', '.join(p.above)}" if p.above else "")
                     + (f"; just below: {', '.join(p.below)}" if p.below else "") + "."))
    elif run.graded and run.provenance.ranked and other_version(run, table):
        doc.add(Para(f"Not placed: this run is on {run.provenance.set_name or 'another version'}, and the official "
                     f"table was made on CritPt {table.version or 'v1'}: scores on different versions are not ranked "
                     "together."))
    elif run.graded:
        doc.add(Para(f"Not placed: {run.provenance.label}. Only official gradings of the full public set, "
                     "with independent epochs, are ranked among the official scores."))
    else:
        doc.add(Para("Not placed: the run has no graded result."))
    if run.catalog is not None and run.catalog.context:
        doc.add(Heading(level, "Context from the catalogs"))
        rows = [[TITLES.get(c.catalog, c.catalog), c.metric, _value(c.value), c.unit,
                 (f"as of {c.as_of}; " if c.as_of else "") + f"fetched {c.fetched_at or '?'}", c.file]
                for c in run.catalog.context]
        doc.add(Table(["catalog", "metric", "value", "unit", "when", "file"], rows, align_right=(2,)))


def _match_note(m: ModelMatch) -> str:
    ids = ", ".join(c.get("id", "") for c in m.candidates[:3])
    parts = [m.note] if m.note else []
    if ids:
        parts.append(f"candidates: {ids}")
    if m.matched_by == "report":
        parts.append("matched offline by the report (the snapshot's matches.json is for another model or absent)")
    return "; ".join(parts)


def _value(v: object) -> str:
    if isinstance(v, float):
        return f"{v:,.4g}" if abs(v) < 1000 else f"{v:,.0f}"
    return str(v)


def unranked_section(doc: Document, runs: List[RunData], names: Dict, level: int = 1) -> None:
    """Graded runs whose score is not official: their own table, never the ranking."""
    rows = [[names[r.path], pct(r.stats.mean), interval(r), r.provenance.label, r.provenance.grader]
            for r in runs if r.graded and not r.provenance.ranked]
    if rows:
        doc.add(Heading(level, "Not ranked: local, partial or reused gradings"),
                Para("These scores are not official CritPt scores, so they are not ranked among, nor plotted "
                     "with, the official ones."),
                Table(["run", "mean", "95% interval", "grading", "graded by"], rows, align_right=(1,)))


def leaderboard_section(doc: Document, entries: List[Entry], table: OfficialTable, png: Optional[bytes],
                        png_file: Optional[str], alt: str = "", level: int = 1) -> None:
    doc.add(Heading(level, "CritPt leaderboard"))
    doc.add(Para(f"Official table: {table.source}, {table.as_of} ({table.source_url}); {table.metric}"
                 f"{f', on CritPt {table.version}' if table.version else ''}. "
                 "Catalog rows are the CritPt scores the snapshot's catalogs publish (their own measurements, "
                 "possibly under other settings, on a CritPt version they do not state): shown, not counted in a "
                 "run's place, which is among the official table's rows only. Runs: mean over graded epochs with "
                 "the 95% t-interval."))
    rows = []
    rank = 0
    for e in entries:
        if e.kind == "official":
            rank += 1
        ci = f"{e.ci_low:.2f} – {e.ci_high:.2f}" if e.ci_low is not None and e.ci_high is not None else ""
        name = f"**{e.name}**" if e.kind == "run" else e.name
        mark = str(rank) if e.kind == "official" else "→" if e.kind == "run" else "·"
        kind = "catalog (version not stated)" if e.kind == "catalog" else e.kind
        rows.append([mark, name, f"{e.percent:.2f}" if e.kind == "run" else f"{e.percent:.1f}", ci, kind, e.source])
    doc.add(Table(["#", "model", "CritPt %", "95% interval", "kind", "source"], rows, align_right=(0, 2)))
    if png is not None:
        doc.add(Image(png, alt or "CritPt leaderboard", png_file))


def _graded_by(runs: List[RunData]) -> str:
    """Who graded the runs' scores, as their files say: the official grader only where it did."""
    graded = [r for r in runs if r.graded]
    official = [r for r in graded if r.provenance.kind == "official"]
    if not graded:
        return ("No score here was graded: " + ("the run is" if len(runs) == 1 else "the runs are")
                + " not graded (dry run, or not submitted), so no grader is cited.")
    if len(official) == len(graded):
        return f"The scores were graded by {OFFICIAL_GRADER}" + ("." if len(graded) == len(runs) else
                                                                 "; the other runs are not graded.")
    rest = "." if len(graded) == len(runs) else "; the other runs are not graded."
    if not official:
        return (f"The score{'s were' if len(graded) > 1 else ' was'} graded locally, not by {OFFICIAL_GRADER}: "
                f"not an official CritPt score{'s' if len(graded) > 1 else ''}" + rest)
    return (f"The scores were graded as each says: {len(official)} by {OFFICIAL_GRADER}, "
            f"{len(graded) - len(official)} locally (not official CritPt scores)" + rest)


def attributions_section(doc: Document, runs: List[RunData], table: OfficialTable, level: int = 1) -> None:
    items = [f"CritPt benchmark: {table.attribution}. {_graded_by(runs)} Please attribute results to the "
             "CritPt project when publishing."]
    seen: Dict[str, None] = {}
    for r in runs:
        if r.catalog is None:
            continue
        for a in r.catalog.attributions:
            seen.setdefault(a, None)
    used = {m.catalog for r in runs if r.catalog for m in r.catalog.matches if m.entry_id}
    for catalog, text in ATTRIBUTIONS.items() if used else ():  # the registry's order (not loaded without data)
        if catalog in used and not any(text.split(",")[0] in a for a in seen):
            seen.setdefault(text, None)
    items += list(seen)
    # The grader and the official table's Gemini-3 Pro figure are Artificial Analysis's too.
    items.append(AA_NOTE)
    snaps = sorted({f"{r.catalog.folder if r.catalog.shared else r.path / r.catalog.folder} "
                    f"(taken {r.catalog.taken_at or '?'})" for r in runs if r.catalog})
    if snaps:
        items.append("catalog data: " + "; ".join(snaps) + ". The report reads these stored files only.")
    doc.add(Heading(level, "Sources and attributions"), Bullets(items))


def paired_section(doc: Document, runs: List[RunData], names: Dict, level: int = 1) -> None:
    """Each run against the first, with `critpt-harness compare`'s numbers (report/paired.py)."""
    from .outcomes import read_outcomes
    from .paired import PAIRED_TEST, ROW_HEADERS, compare_run_data, rows

    if len(runs) < 2:
        return
    base = runs[0]
    base_outcomes = read_outcomes(base.path)
    table = []
    for run in runs[1:]:
        cmp = compare_run_data(run, base, (names[run.path], names[base.path]),
                               outcomes=(read_outcomes(run.path), base_outcomes))
        table += [[names[run.path], names[base.path], *row] for row in rows(cmp)]
    if table:
        doc.add(Heading(level, f"Paired comparisons (each run as A against {names[base.path]} as B)"),
                Para(f"Where both runs have per-problem outcomes: {PAIRED_TEST}, difference and t-interval over "
                     "problems. Where only per-epoch accuracies exist (the official grader's): the difference of "
                     "the means over epochs, unpaired, which cannot say on which problems the runs differ. "
                     "`critpt-harness compare A B` prints the same numbers with what they do and do not show."),
                Table(["A", "B", *ROW_HEADERS], table, align_right=(3, 4, 5, 6, 8)))
