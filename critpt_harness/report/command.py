"""`critpt-harness report`, and the last stage of `run`.

One run: report.md, report.html (+ report.png) in its folder. Several
(`report.runs=[a,b]` or a glob such as `runs/*/*`): one comparison in
``report.output_dir``. Only stored files are read: nothing is asked of a
model, the grader or a catalog, so a report can be re-made at any time.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, List, Optional

from .. import __version__
from ..errors import ConfigError, HarnessError, RunFolderError
from ..runfiles import write_bytes_atomic, write_text_atomic
from ..runs import RunFolder, now_iso
from ..config.report import FORMATS, ReportConfig
from .data import RunData, dump, load_run
from .leaderboard import Entry, OfficialTable, build, display_names, load_official, place, run_entry
from .render import Bullets, Document, Heading, Para, Table, to_html, to_markdown
from .comparison import attributions_section, leaderboard_section, paired_section, unranked_section
from .fmt import interval, pct, usd
from .sections import headline, run_sections

Echo = Callable[[str], None]
_GLOB_CHARS = set("*?[")


@dataclass
class ReportResult:
    out_dir: Path
    files: List[Path]
    runs: List[RunData]
    entries: List[Entry]
    table_text: str
    notes: List[str] = field(default_factory=list)


def check_config(cfg: ReportConfig) -> None:
    bad = [f for f in cfg.formats if f not in FORMATS]
    if bad or not cfg.formats:
        raise ConfigError(f"report.formats={list(cfg.formats)}: use one or more of {', '.join(FORMATS)}")
    if cfg.plot_max_entries < 0:
        raise ConfigError("report.plot_max_entries must be >= 0")
    for name in ("input_price_per_million", "output_price_per_million"):
        value = getattr(cfg, name)
        if value is not None and value < 0:
            raise ConfigError(f"report.{name}={value}: a price cannot be negative")
    if (cfg.input_price_per_million is None) != (cfg.output_price_per_million is None):
        raise ConfigError("report.input_price_per_million and report.output_price_per_million go together: "
                          "set both (USD per million tokens)")


def resolve_runs(patterns: List[str], notes: Optional[List[str]] = None) -> List[Path]:
    """Run folders named by paths or globs; a glob keeps only folders with a config.yaml."""
    found: List[Path] = []
    for raw in patterns:
        pattern = os.path.expanduser(str(raw))
        if _GLOB_CHARS & set(pattern):
            matched = [Path(p) for p in sorted(glob.glob(pattern)) if Path(p).is_dir()]
            folders = [p for p in matched if (p / "config.yaml").exists()]
            runs = [p for p in folders if RunFolder(p).has_records()]
            # Shared catalog snapshots and earlier reports live under runs/ too: not worth a note.
            skipped = sum(1 for p in matched if p not in folders and not _known_output(p))
            if skipped and notes is not None:
                notes.append(f"{pattern}: {skipped} folder(s) without config.yaml skipped (not run folders)")
            empty = [p for p in folders if p not in runs]
            if empty and notes is not None:  # failed starts: no answer to compare
                notes.append(f"{pattern}: {len(empty)} run folder(s) without any generation record skipped "
                             f"(failed or never started): {', '.join(str(p) for p in empty[:5])}"
                             + (" ..." if len(empty) > 5 else ""))
            if not runs:
                raise RunFolderError(f"report.runs: {raw!r} matches no run folder with answers (a config.yaml "
                                     "and generation records): check the pattern, e.g. report.runs=runs/*/*")
            found += runs
        else:
            found.append(Path(pattern))
    unique: List[Path] = []
    seen = set()
    for p in found:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


def _known_output(folder: Path) -> bool:
    return (folder / "index.json").exists() or (folder / "report.md").exists() or (folder / "report.html").exists()


def build_report(paths: List[Path], cfg: ReportConfig, out_dir: Optional[Path] = None,
                 notes: Optional[List[str]] = None) -> ReportResult:
    """Read the runs, write the report files; returns what was written."""
    check_config(cfg)
    if not paths:
        raise RunFolderError("no run folder to report on: pass run_dir=<folder> or report.runs=[...]")
    runs = [load_run(p, cfg) for p in paths]
    table = load_official(cfg.leaderboard_file)
    entries = build(table, runs, cfg.leaderboard_from_catalogs)
    many = len(runs) > 1
    if out_dir is None:
        if cfg.output_dir:
            out_dir = Path(cfg.output_dir)
        elif many:
            out_dir = Path("runs") / "reports" / datetime.now(timezone.utc).strftime("%Y-%m-%d_%H-%M-%S")
        else:
            out_dir = runs[0].path
    out_dir.mkdir(parents=True, exist_ok=True)
    notes = list(notes or [])

    png: Optional[bytes] = None
    if cfg.plot:
        try:
            from .plot import figure

            png = figure(entries, runs, cfg.plot_max_entries, "CritPt" if many else f"CritPt: {runs[0].label}",
                         out_dir / "report.png")
        except ImportError as exc:  # the report is still useful without its figure
            notes.append(f"plot skipped: matplotlib is not installed ({exc}); `pip install matplotlib`")

    alt = ""
    if png is not None:
        from .plot import describe

        alt = describe(entries, runs, cfg.plot_max_entries)
    doc = _document(runs, table, entries, png, "report.png" if png is not None else None, alt, notes)
    files: List[Path] = []
    if png is not None:
        write_bytes_atomic(out_dir / "report.png", png)
        files.append(out_dir / "report.png")
    if "md" in cfg.formats:
        files.append(_write(out_dir / "report.md", to_markdown(doc)))
    if "html" in cfg.formats:
        files.append(_write(out_dir / "report.html", to_html(doc)))
    if "json" in cfg.formats:
        files.append(_write(out_dir / "report.json", dump({"made_at": now_iso(), "harness_version": __version__,
                                                            "official_table": table.file, "runs": runs,
                                                            "provenance": {str(r.path): r.provenance.as_dict()
                                                                           for r in runs},
                                                            "leaderboard": entries, "notes": notes})))
    return ReportResult(out_dir, files, runs, entries, short_table(runs, entries, table), notes)


def _document(runs: List[RunData], table: OfficialTable, entries: List[Entry], png: Optional[bytes],
              png_file: Optional[str], alt: str, notes: List[str]) -> Document:
    made = (f"Made {now_iso()} by critpt-harness {__version__} from the files stored in the run folder"
            f"{'s' if len(runs) > 1 else ''}; no model, grader or catalog was asked. "
            "Each score says who graded it; the interval is over independent gradings.")
    names = display_names(runs)
    if len(runs) == 1:
        run = runs[0]
        doc = Document(f"CritPt report: {run.label}")
        doc.add(Para(f"**Score: {headline(run)}**" + (
            f", 95% interval {interval(run)}" if run.stats.has_interval else "")))
        if run.graded:  # the score first, where it came from right after
            doc.add(Para(run.provenance.sentence()))
        doc.add(Para(made))
        run_sections(doc, run, table, entries)
        leaderboard_section(doc, entries, table, png, png_file, alt)
        unranked_section(doc, runs, names)
    else:
        doc = Document(f"CritPt report: {len(runs)} runs")
        doc.add(Para(made))
        _comparison_table(doc, runs, entries, table)
        paired_section(doc, runs, names)
        leaderboard_section(doc, entries, table, png, png_file, alt)
        unranked_section(doc, runs, names)
        for run in runs:
            doc.add(Heading(1, f"Run: {names[run.path]} ({run.path})"))
            run_sections(doc, run, table, entries, level=2)
    attributions_section(doc, runs, table)
    if notes:
        doc.add(Heading(1, "Report notes"), Bullets(notes))
    return doc


def _comparison_table(doc: Document, runs: List[RunData], entries: List[Entry],
                      table: Optional[OfficialTable] = None) -> None:
    rows = []
    names = display_names(runs)
    for r in runs:
        mine = run_entry(r, table)
        p = place(entries, mine) if mine is not None else None
        rows.append([names[r.path], str(r.path), r.protocol, r.tools, r.effort, f"{r.provenance.epochs}/{r.epochs_planned}",
                     pct(r.stats.mean) if r.graded else "not graded", pct(r.stats.stderr), interval(r),
                     r.provenance.label, f"{r.usage.prompt_tokens:,} / {r.usage.completion_tokens:,}",
                     usd(r.cost.total_usd if r.cost else None), f"{p.rank}/{p.out_of}" if p else "not ranked"])
    doc.add(Heading(1, "Comparison"),
            Table(["run", "folder", "protocol", "tools", "effort", "epochs graded", "mean", "SE", "95% interval",
                   "grading", "tokens in / out", "cost", "place"], rows, align_right=(5, 6, 7, 10, 11, 12)))


def short_table(runs: List[RunData], entries: List[Entry], table: Optional[OfficialTable] = None) -> str:
    """The few lines printed at the end of the command."""
    names = display_names(runs)
    lines = [f"{'run':<28} {'graded':>6} {'mean':>8} {'SE':>7} {'95% interval':>17} {'cost':>10} {'place':>7}  grading"]
    for r in runs:
        mine = run_entry(r, table)
        p = place(entries, mine) if mine is not None else None
        ci = f"{pct(r.stats.ci_low)}-{pct(r.stats.ci_high)}" if r.stats.has_interval else "–"
        lines.append(f"{names[r.path][:28]:<28} {f'{r.provenance.epochs}/{r.epochs_planned}':>6} "
                     f"{(pct(r.stats.mean) if r.graded else 'none'):>8} {pct(r.stats.stderr):>7} {ci:>17} "
                     f"{usd(r.cost.total_usd if r.cost else None):>10} {(f'{p.rank}/{p.out_of}' if p else '–'):>7}  "
                     f"{r.provenance.label}")
    return "\n".join(lines)


def _write(path: Path, text: str) -> Path:
    write_text_atomic(path, text)
    return path


def _echo_result(result: ReportResult, cfg: ReportConfig, echo: Echo) -> None:
    if cfg.print_table:
        echo(result.table_text)
    names = display_names(result.runs)
    for r in result.runs:
        if not r.graded:
            echo(f"{names[r.path]}: no graded result ({'dry run' if r.dry_run_requests else 'not submitted'}); "
                 "the report says so")
    for note in result.notes:
        echo(f"note: {note}")
    echo("report: " + ", ".join(str(f) for f in result.files))


def cmd_report(cfg: Any, run: Any, echo: Echo = print) -> ReportResult:
    """The `report` command: ``cfg.report.runs`` (paths/globs) or else ``run`` (the run_dir)."""
    rcfg: ReportConfig = getattr(cfg, "report", None) or ReportConfig()
    notes: List[str] = []
    if rcfg.runs:
        paths = resolve_runs([rcfg.runs] if isinstance(rcfg.runs, str) else [str(r) for r in rcfg.runs], notes)
    else:
        if not Path(run.path).exists():
            raise RunFolderError(f"run folder {run.path} does not exist: pass run_dir=<a run folder> or "
                                 "report.runs='[runs/*/*]'")
        paths = [Path(run.path)]
    result = build_report(paths, rcfg, notes=notes)
    _echo_result(result, rcfg, echo)
    return result


def report_stage(cfg: Any, run: Any, echo: Echo = print) -> Optional[ReportResult]:
    """The last stage of `run`: this run only, into its folder; a failure is a warning."""
    rcfg: ReportConfig = getattr(cfg, "report", None) or ReportConfig()
    try:
        result = build_report([Path(run.path)], rcfg, out_dir=Path(run.path))
    except HarnessError as exc:
        echo(f"warning: report failed: {exc} (re-run `critpt-harness report run_dir={run.path}`)")
        return None
    _echo_result(result, rcfg, echo)
    return result
