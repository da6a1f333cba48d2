"""The report's text: one section per question a reader has (what was run, what
it scored, what it cost, where it stands), every number with its source.
"""

from __future__ import annotations

from typing import Dict, List

from ..contracts import problem_order
from ..providers import is_offline
from ..fidelity import ISOLATION
from .comparison import comparison
from .data import EpochResult, RunData
from .fmt import interval, num, pct, seconds, usd
from .leaderboard import Entry, OfficialTable
from .render import Bullets, Document, Heading, Para, Table


def headline(run: RunData) -> str:
    s, prov = run.stats, run.provenance
    if not run.graded:
        return "not graded"
    se = f" ± {pct(s.stderr)} (SE)" if s.stderr is not None else ""
    if prov.reused:
        return f"{pct(s.mean)}{se} over {prov.distinct} distinct grading{'s' if prov.distinct != 1 else ''} " \
               f"of {prov.epochs} epochs"
    return f"{pct(s.mean)}{se} over {s.n} epoch{'s' if s.n != 1 else ''}"


def not_graded_text(run: RunData) -> str:
    prov = run.provenance
    if prov.subset and prov.public_set:
        return (f"**No graded result**: this run answers a {prov.problem_set.split(' (')[0]} problems, and a subset is "
                "never posted to the official grader (it accepts only the full public set, and a subset's score is "
                "not a CritPt score). It checks the set-up; for a score, run the full set in a new run_dir.")
    if run.queued.get("epochs"):
        when = str(run.queued.get("expected_last") or "?")[:16].replace("T", " ")
        return (f"**No graded result yet**: queued, expected by {when} UTC (epochs "
                f"{', '.join(map(str, sorted(run.queued['epochs'])))} wait in the grading queue "
                f"{run.queued.get('queue', '')}; `critpt-harness queue run --wait` grades them as the quota allows).")
    if not run.usage.records:  # a start that failed: nothing to submit, the next step is generate
        return (f"**No graded result**: the run has no answers ({'generations.jsonl is empty' if (run.path / 'generations.jsonl').exists() else 'no generations.jsonl'}: "
                "its start failed, or it never ran). Generate them first: "
                f"`critpt-harness generate run_dir={run.path}` (it resumes this folder), then `critpt-harness run "
                f"run_dir={run.path}` assembles, submits and reports.")
    if run.dry_run_requests:
        why = (f"this run was a dry run (evaluator.dry_run=true): the requests were written "
               f"({', '.join(run.dry_run_requests[:3])}{' ...' if len(run.dry_run_requests) > 3 else ''}) "
               "and nothing was sent to the grader")
    elif run.checks:
        why = "its batches are assembled but were not submitted"
    else:
        return (f"**No graded result**: its answers are not assembled into batches yet. Next: `critpt-harness "
                f"assemble run_dir={run.path}`, then `critpt-harness submit run_dir={run.path} "
                "evaluator.dry_run=false` (one of your 10 daily gradings per epoch).")
    return (f"**No graded result**: {why}. There is no results.json with graded epochs. To grade it: "
            f"`critpt-harness submit run_dir={run.path} evaluator.dry_run=false` (one of your 10 daily "
            "gradings per epoch), then run `critpt-harness report` again.")


# One run --------------------------------------------------------------------------------------------
def run_sections(doc: Document, run: RunData, table: OfficialTable, entries: List[Entry], level: int = 1) -> None:
    doc.add(Heading(level, "The run"), _run_table(run))
    doc.add(Heading(level + 1, "Differences from the official set-up"),
            Bullets(run.differences) if run.differences else
            Para("None known: the official prompt text, tool environment and request shape."))
    doc.add(Heading(level, "The score"))
    if not run.graded:
        doc.add(Para(not_graded_text(run)))
    else:
        if level > 1:  # a single run's report says this under its headline already
            doc.add(Para(run.provenance.sentence()))
        _score(doc, run)
        _verdicts(doc, run.epochs, run.score_file or "?", level + 1)
    if run.local_epochs:
        _local_beside(doc, run, level + 1)
        _verdicts(doc, run.local_epochs, "local_grades.json", level + 1)
    _checks(doc, run, level + 1)
    doc.add(Heading(level, "Cost and effort"))
    _cost(doc, run)
    doc.add(Heading(level, "Published comparison"))
    comparison(doc, run, table, entries, level + 1)
    if run.notes:
        doc.add(Heading(level + 1, "Notes"), Bullets(list(run.notes)))


def _run_table(run: RunData) -> Table:
    u = run.usage
    graded = run.graded_dates
    rows = [
        ["model", f"{run.label}" + (f" (`{run.model_name}`)" if run.label != run.model_name else ""), "config.yaml"],
        ["provider", f"{run.provider or '?'}" + (f", {run.base_url}" if run.base_url else ""), "config.yaml"],
        ["API", run.api or "?", "config.yaml `model.api`"],
        ["protocol", run.protocol + (" (answer, then a formatting turn)" if run.protocol == "two-step"
                                     else " (template in the prompt)"), "config.yaml `generation.parsing`"],
        ["tools", run.tools, "config.yaml `generation.use_python` / `use_web_search`"],
        ["reasoning effort", run.effort, "config.yaml `model.reasoning_effort` / `reasoning_tokens`"],
        ["problems", run.provenance.problem_set, "manifest.json, batches/"],
        ["model-written code ran in", _isolation_text(run), "generations.jsonl tool calls, batches/*.checks.json"],
        ["epochs", f"{run.epochs_planned} planned, {run.provenance.epochs} graded",
         "config.yaml" + (f", {run.score_file}" if run.score_file else "")],
        ["dataset sha256", f"`{run.dataset_sha256 or '?'}`", "manifest.json"],
        ["prompt hash", f"`{run.prompt_hash or '?'}`" + (f", {run.prompts_label}" if run.prompts_label else ""),
         "manifest.json `prompts`"],
        ["config hash", f"`{run.config_hash or '?'}`", "manifest.json"],
        ["created", run.created_at or "?", "manifest.json"],
        ["generation", f"{u.first_started or '?'} → {u.last_finished or '?'}", "generations.jsonl"],
        ["graded", (f"{graded[0]} → {graded[-1]}" if graded else "yes, undated") if run.graded else "not graded",
         run.score_file or "no results.json or local_grades.json with graded epochs"],
        ["harness", f"critpt-harness {run.harness_version or '?'}, git `{(run.git_revision or '?')[:12]}`",
         "manifest.json"],
        ["folder", str(run.path), ""],
    ]
    return Table(["", "value", "from"], rows)


def _isolation_text(run: RunData) -> str:
    if not run.isolation:
        return "none ran (no tool calls; no execution checks recorded)"
    return "; ".join(f"{where}: {', '.join(ISOLATION.get(b, b) for b in backends)}"
                     for where, backends in run.isolation.items())


def _score(doc: Document, run: RunData) -> None:
    rows = [[str(e.epoch), pct(e.accuracy), str(e.judge_error_count),
             f"{e.server_timeout_count} ({pct(e.timeout_rate, 1)})", e.graded_at or "?", e.source or "?"]
            for e in run.epochs]
    doc.add(Table(["epoch", "accuracy", "judge errors", "grader timeouts", "graded at", "source"], rows,
                  align_right=(0, 1, 2, 3)))
    s, prov = run.stats, run.provenance
    where = f"{run.score_file}, grade-local" if run.score_file == "local_grades.json" else run.score_file
    over = (f"{prov.distinct} distinct grading{'s' if prov.distinct != 1 else ''} of {prov.epochs} epochs"
            if prov.reused else f"{s.n} graded epoch{'s' if s.n != 1 else ''}")
    items = [f"**mean accuracy: {pct(s.mean)}** over {over} ({where}; graded by {prov.grader})"]
    if s.stderr is not None:
        items.append(f"standard error: {pct(s.stderr)} (sample standard deviation over "
                     f"{'distinct gradings' if prov.reused else 'epochs'} / √{s.n})")
        items.append(f"95% interval: {interval(run)} (Student's t, {s.n - 1} degree{'s' if s.n != 2 else ''} of freedom, "
                     f"t = {s.t_critical:.3f}; clipped to 0–100%)")
    else:
        items.append("standard error and interval need at least 2 "
                     + ("distinct gradings: identical epochs were graded once, so they are not independent repeats"
                        if prov.reused else "graded epochs"))
    judge = sum(e.judge_error_count for e in run.epochs)
    timeouts = sum(e.server_timeout_count for e in run.epochs)
    items.append(f"judge errors: {judge}, grader timeouts: {timeouts} (summed over epochs; the grader "
                 "counts them as failures, and a judge error may succeed on a re-grade)")
    doc.add(Bullets(items))


def _local_beside(doc: Document, run: RunData, level: int) -> None:
    """grade-local's results next to a submitted score: their own section, never the headline."""
    accs = [e.accuracy for e in run.local_epochs]
    problems = run.provenance.problems  # the same count the score's label uses
    doc.add(Heading(level, f"LOCAL grading, {problems if problems is not None else '?'} problems (grade-local)"))
    rows = [[str(e.epoch), pct(e.accuracy), e.graded_at or "?"] for e in run.local_epochs]
    doc.add(Table(["epoch", "accuracy", "graded at"], rows, align_right=(0, 1)),
            Para(f"Mean {pct(sum(accs) / len(accs))} over {len(accs)} epoch(s), from local_grades.json: graded on "
                 "this machine with golden answers, not by the official CritPt grader; not an official score."))


def _verdicts(doc: Document, epochs: List[EpochResult], file: str, level: int) -> None:
    """Each problem's verdict per epoch, and why the wrong ones are wrong, where the grader said."""
    ids = sorted({pid for e in epochs for pid in e.verdicts}, key=problem_order)
    if not ids:
        return
    shown = [e for e in epochs if e.verdicts]
    doc.add(Heading(level, f"Per-problem verdicts ({file})"),
            Table(["problem"] + [f"epoch {e.epoch}" for e in shown],
                  [[pid] + [e.verdicts.get(pid, ("–", ""))[0] for e in shown] for pid in ids]))
    wrong: Dict[tuple, List[str]] = {}  # (problem, verdict, reason) -> the epochs that got it
    for pid in ids:
        for e in shown:
            status, reason = e.verdicts.get(pid, ("correct", ""))
            if status != "correct":
                wrong.setdefault((pid, status, reason or "(no reason given)"), []).append(str(e.epoch))
    if wrong:
        doc.add(Table(["problem", "epochs", "verdict", "why"],
                      [[pid, ", ".join(at), status, why] for (pid, status, why), at in wrong.items()]))


def _checks(doc: Document, run: RunData, level: int) -> None:
    if not run.checks:
        return
    names: List[str] = []
    for c in run.checks:
        names += [n for n in c.per_check if n not in names]
    doc.add(Heading(level, "Local pre-submission checks (problems passing each)"))
    rows = [[str(c.epoch), str(c.problems), str(c.passed_all)] + [str(c.per_check.get(n, "–")) for n in names]
            + [c.source] for c in run.checks]
    doc.add(Table(["epoch", "problems", "passed all"] + names + ["from"], rows,
                  align_right=tuple(range(3 + len(names)))))
    static_only = max(c.not_executable for c in run.checks)
    if static_only:
        doc.add(Para(f"{static_only} problem(s) per epoch were checked statically only: their `answer()` takes "
                     "concrete inputs, so it is not executed before submission."))


def _cost(doc: Document, run: RunData) -> None:
    u = run.usage
    if not u.records:
        doc.add(Para("No generation records (generations.jsonl is empty or missing)."))
        return
    rows = [
        ["tokens in (prompt), total", num(u.prompt_tokens), "all records, retries and failures included"],
        ["tokens out (completion), total", num(u.completion_tokens),
         f"of which reasoning {num(u.reasoning_tokens)} (as the provider reported them)"],
        ["tokens in per item, mean", num(u.item_prompt_mean), f"{u.items} items = problems × epochs"],
        ["tokens out per item, mean / median / max",
         f"{num(u.item_completion_mean)} / {num(u.item_completion_median)} / {num(u.item_completion_max)}", ""],
        ["model time, summed", seconds(u.model_seconds), "sum of the records' duration_s"],
        ["model time per item, mean / max", f"{seconds(u.item_seconds_mean)} / {seconds(u.item_seconds_max)}", ""],
        ["elapsed (first start → last finish)", seconds(u.elapsed_seconds), "includes pauses between resumed sessions"],
        ["items done / total", f"{u.items_ok} / {u.items}", f"{u.records} records, {u.problems} problems"],
    ]
    if u.tool_calls or u.web_searches or run.use_python or run.use_web_search:
        rows.append(["tool calls / web searches", f"{u.tool_calls} / {u.web_searches}", "latest record per item"])
    doc.add(Table(["", "value", "note"], rows, align_right=(1,)))
    if run.cost is None:
        doc.add(Para("**Money: unknown.** No per-million-token price for this model: the catalog snapshot has "
                     "none for it" + (" (there is no snapshot)" if run.catalog is None else "")
                     + ". Set `report.input_price_per_million=... report.output_price_per_million=...` "
                       "(USD) to price it."))
        return
    c = run.cost
    if is_offline(run.provider) and c.total_usd == 0:
        doc.add(Para(f"**Money: none** ({c.price.source}): no provider was called, so the tokens above cost "
                     "nothing."))
        return
    when = f", fetched {c.price.fetched_at}" if c.price.fetched_at else ""
    doc.add(Bullets([
        f"price: {usd(c.price.input_per_million)} in / {usd(c.price.output_per_million)} out per million tokens — "
        f"from {c.price.source}{when}",
        f"**cost: {usd(c.total_usd)}** ({usd(c.input_usd)} input + {usd(c.output_usd)} output), "
        f"{usd(run.cost_per_epoch)} per epoch, {usd(c.total_usd / max(1, u.items))} per item",
        "list prices times the tokens the provider reported (reasoning billed as output); "
        "caching discounts and a different provider's rates are not reflected",
    ]))
