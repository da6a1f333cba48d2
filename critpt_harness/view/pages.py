"""The viewer's pages over run folders: the runs, one run's problem x epoch grid, two runs side by
side. (An item's conversation is transcript.py.) Each takes what the index holds and returns HTML."""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from ..analysis.summary import RunRow, RunView, in_progress, run_row
from ..report.fmt import pct, seconds, usd
from ..report.paired import ROW_HEADERS, compare_run_data, rows
from .html import cell, esc, facts, legend, link, page, select, table, url
from .index import Library, RunEntry

Pair = Tuple[RunEntry, RunView]


def _score(r: RunRow) -> str:
    if r.mean is None:
        return "–"
    ci = f" ({pct(r.ci_low)} – {pct(r.ci_high)})" if r.ci_low is not None and r.ci_high is not None else ""
    return f"{pct(r.mean)}{ci}"


# (key, header, cell text, sort value) of the runs page's columns
COLUMNS: Sequence[Tuple[str, str, Callable[[RunRow], str], Callable[[RunRow], Any]]] = (
    ("run", "run", lambda r: r.run, lambda r: r.run.lower()),
    ("model", "model", lambda r: r.model, lambda r: r.model.lower()),
    ("setup", "set-up", lambda r: f"{r.protocol} · tools: {r.tools} · effort: {r.effort}",
     lambda r: (r.protocol, r.tools, r.effort)),
    ("version", "version of the set", lambda r: r.set_version, lambda r: r.set_version),
    ("generated", "generated", lambda r: r.stage.get("generated", ""), lambda r: r.items_ok),
    ("assembled", "assembled", lambda r: r.stage.get("assembled", ""), lambda r: r.stage.get("assembled", "")),
    ("checked", "checked", lambda r: r.stage.get("checked", ""), lambda r: r.checks_passed),
    ("graded", "graded", lambda r: r.stage.get("graded", ""), lambda r: (r.grading, r.epochs_graded)),
    ("score", "score (95% interval)", _score, lambda r: -1.0 if r.mean is None else r.mean),
    ("label", "where the score came from", lambda r: r.score_label, lambda r: r.score_label),
    ("tokens", "tokens in / out", lambda r: f"{r.prompt_tokens:,} / {r.completion_tokens:,}",
     lambda r: r.prompt_tokens + r.completion_tokens),
    ("cost", "cost", lambda r: usd(r.cost_usd), lambda r: r.cost_usd or 0.0),
    ("time", "time", lambda r: seconds(r.elapsed_seconds), lambda r: r.elapsed_seconds or 0.0),
    ("created", "created", lambda r: (r.created_at or "")[:19].replace("T", " "), lambda r: r.created_at or ""),
)
GRADINGS = ("official", "local", "dry run", "not graded")


# Seconds the runs page waits for runs still being indexed before it shows them as such.
INDEX_WAIT = 0.3


def runs_page(lib: Library, params: Dict[str, str], refresh: int) -> str:
    found = lib.ready(wait=INDEX_WAIT)
    pairs = [(e, v) for e, v in found if v is not None]
    pending = [e for e, v in found if v is None]
    rows = [(e, run_row(v), in_progress(v)) for e, v in pairs]
    q, grading = params.get("q", "").strip().lower(), params.get("grading", "")
    if q:
        rows = [x for x in rows if any(q in str(s).lower() for s in (x[1].run, x[1].model, x[1].label, x[1].path,
                                                                      x[1].score_label, x[1].set_version))]
    if grading in GRADINGS:
        rows = [x for x in rows if x[1].grading == grading]
    sort, desc = params.get("sort", "created"), params.get("desc", "1" if "sort" not in params else "") == "1"
    key = next((c[3] for c in COLUMNS if c[0] == sort), COLUMNS[-1][3])
    rows.sort(key=lambda x: key(x[1]), reverse=desc)
    headers = [link(url("/", q=params.get("q"), grading=grading, sort=k, desc="" if (k == sort and desc) else "1"),
                    h + (" ▼" if k == sort and desc else " ▲" if k == sort else ""), "sort") for k, h, _, _ in COLUMNS]
    body_rows = []
    for entry, r, going in rows:
        cells = [esc(text(r)) for _, _, text, _ in COLUMNS]
        cells[0] = link(url("/run", run=entry.id), r.run) + (' <span class="going">generating</span>' if going else "")
        body_rows.append(cells)
    form = ('<form method="get" action="/" class="filter">'
            f'<label>filter <input type="search" name="q" value="{esc(params.get("q", ""))}"></label> '
            + select("grading", [("", "any grading")] + [(g, g) for g in GRADINGS], grading, "grading")
            + f'<input type="hidden" name="sort" value="{esc(sort)}"><button>show</button></form>')
    options = [(e.id, v.name) for e, v in pairs]
    compare = ('<form method="get" action="/compare" class="filter">' + select("a", options, None, "compare A")
               + " " + select("b", options, options[1][0] if len(options) > 1 else None, "with B")
               + "<button>side by side</button></form>") if len(options) > 1 else ""
    for entry in pending:  # shown as soon as the background index reaches them (the page reloads)
        body_rows.append([link(url("/run", run=entry.id), entry.id), "indexing …"] + [""] * (len(COLUMNS) - 2))
    shown = f"<p>{len(rows)} of {len(found)} run folder(s)" + (
        f"; {len(pending)} still being indexed (this page reloads)" if pending else "") + ".</p>"
    again = min(refresh or 2, 2) if pending else (refresh if any(g for _, _, g in rows) else 0)
    return page("Runs", form + shown + table(headers, body_rows, "runs") + compare, again)


def _header(entry: RunEntry, view: RunView) -> str:
    d, r = view.data, run_row(view)
    items = [("folder", f"<code>{esc(view.path)}</code>"), ("model", esc(f"{d.model_name} ({d.provider or '?'})")),
             ("set-up", esc(f"{d.protocol} · tools: {d.tools} · effort: {d.effort}")),
             ("version of the set", esc(r.set_version)),
             ("score", f"<strong>{esc(_score(r))}</strong> · {esc(d.provenance.label)}"),
             ("where it came from", esc(d.provenance.sentence().replace("**", ""))),
             ("stages", esc(" · ".join(f"{k}: {v}" for k, v in r.stage.items()))),
             ("tokens, cost, time", esc(f"{r.prompt_tokens:,} in / {r.completion_tokens:,} out · {usd(r.cost_usd)} · "
                                        f"{seconds(r.elapsed_seconds)}"))]
    if d.isolation:
        items.append(("model code ran under", esc("; ".join(f"{k}: {', '.join(v)}" for k, v in d.isolation.items()))))
    if d.differences:
        items.append(("differs from the official set-up", "<ul>" + "".join(f"<li>{esc(x)}</li>" for x in d.differences)
                      + "</ul>"))
    if d.notes:
        items.append(("notes", "<ul>" + "".join(f"<li>{esc(x)}</li>" for x in d.notes) + "</ul>"))
    return facts(items)


def run_page(pair: Pair, refresh: int) -> str:
    entry, view = pair
    out = view.outcomes
    epochs = sorted(set(out.epochs) | set(range(view.data.epochs_planned)))
    graded = bool(out.verdict_epochs)
    headers = ["problem"] + [f"epoch {e}" for e in epochs] + ["correct" if graded else "checks passed"]
    grid = []
    totals = out.scores("verdict" if graded else "checks")
    for pid in out.problems:
        cells = [cell(out.get(pid, e), url("/item", run=entry.id, p=pid, e=e)) for e in epochs]
        scores = totals.get(pid, [])
        grid.append([esc(pid), *cells, f"{sum(scores)}/{len(scores)}" if scores else "–"])
    body = _header(entry, view) + legend() + table(headers, grid, "grid")
    return page(f"Run: {view.name}", body, refresh if in_progress(view) else 0)


def _epoch_scores(view: RunView) -> str:
    d = view.data
    rows = [[esc(e.epoch), esc(pct(e.accuracy)), esc(e.graded_at or "?"), esc(e.source or "?")] for e in d.epochs]
    s = d.stats
    mean = (f"mean {pct(s.mean)}" + (f", 95% interval {pct(s.ci_low)} – {pct(s.ci_high)}" if s.has_interval
                                      else " (an interval needs 2 or more gradings)")) if s.mean is not None else ""
    return (f"<p><strong>{esc(view.name)}</strong>: {esc(d.provenance.label)}. {esc(mean)}</p>"
            + (table(["epoch", "accuracy", "graded at", "graded by"], rows, "scores") if rows else ""))


def compare_page(lib: Library, a: Optional[Pair], b: Optional[Pair]) -> str:
    options = [(e.id, v.name if v is not None else e.id) for e, v in lib.ready()]
    form = ('<form method="get" action="/compare" class="filter">'
            + select("a", options, a[0].id if a else None, "A") + " "
            + select("b", options, b[0].id if b else None, "B") + "<button>side by side</button></form>")
    if a is None or b is None:
        return page("Compare two runs", form + "<p>Choose two runs.</p>")
    (ea, va), (eb, vb) = a, b
    cmp = compare_run_data(va.data, vb.data, (va.name, vb.name), outcomes=(va.outcomes, vb.outcomes))
    paired = rows(cmp)
    numbers = table(ROW_HEADERS, [[esc(c) for c in row] for row in paired], "numbers") if paired else ""
    says = "<ul class=\"says\">" + "".join(f"<li>{esc(s.replace('`', ''))}</li>" for s in cmp.statements) + "</ul>"
    oa, ob = va.outcomes, vb.outcomes
    problems = list(dict.fromkeys([*oa.problems, *ob.problems]))
    ea_epochs, eb_epochs = sorted(oa.epochs), sorted(ob.epochs)
    measure = "verdict" if oa.verdict_epochs and ob.verdict_epochs else "checks"
    sa, sb = oa.scores(measure), ob.scores(measure)
    grid = []
    for pid in problems:
        a_cells = " ".join(cell(oa.get(pid, e), url("/item", run=ea.id, p=pid, e=e)) for e in ea_epochs)
        b_cells = " ".join(cell(ob.get(pid, e), url("/item", run=eb.id, p=pid, e=e)) for e in eb_epochs)
        x, y = sa.get(pid), sb.get(pid)
        diff = "" if not x or not y else ("A better" if sum(x) / len(x) > sum(y) / len(y) else
                                          "B better" if sum(x) / len(x) < sum(y) / len(y) else "same")
        grid.append([esc(pid), a_cells, f"{sum(x)}/{len(x)}" if x else "–", b_cells,
                     f"{sum(y)}/{len(y)}" if y else "–", esc(diff)])
    what = "correct in the local grading" if measure == "verdict" else "passed every pre-submission check"
    per_problem = (f"<h2>Per problem: {esc(what)}</h2>" + legend()
                   + table(["problem", f"A: {esc(va.name)}", "A", f"B: {esc(vb.name)}", "B", ""], grid, "pairs"))
    note = ("" if measure == "verdict" else
            "<p class=\"note\">Per-problem correctness needs local grading: the official grader returns only each "
            "epoch's accuracy, so the scores below compare means over epochs, not problems.</p>")
    body = (form + facts([("A", link(url("/run", run=ea.id), va.name) + " · " + esc(cmp.label_a)),
                          ("B", link(url("/run", run=eb.id), vb.name) + " · " + esc(cmp.label_b))])
            + numbers + says + "<h2>Scores per epoch</h2>" + note + _epoch_scores(va) + _epoch_scores(vb)
            + per_problem)
    return page(f"{va.name} and {vb.name}", body)


def not_found(what: str) -> str:
    return page("Not found", f"<p>{esc(what)}</p><p>{link('/', 'Back to the runs')}</p>")


def runs_json(lib: Library) -> List[Dict[str, Any]]:
    from dataclasses import asdict

    return [{"id": e.id, **asdict(run_row(v))} for e, v in lib.runs()]
