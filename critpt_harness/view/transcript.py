"""The item page: one problem x epoch as the model saw it. The system prompt, the question, each
model call with its reasoning, every tool call with its code, output, exit code, isolation and
time, the formatting turn; the extracted code beside the template; the checks, the local verdict,
timings, token usage, retries and errors. Text is Markdown with LaTeX (markup.py)."""

from __future__ import annotations

import difflib
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

from ..contracts import GenerationRecord
from .html import cell_words, esc, facts, link, page, table, url
from .index import RunEntry
from ..analysis.summary import RunView
from .markup import markdown

_FENCE = re.compile(r"```python\n(.*?)\n```", re.S)


@lru_cache(maxsize=8)
def _templates(folder: str) -> Dict[str, str]:
    """problem id -> code template of the challenge files in ``folder`` (a run's dataset.path)."""
    out: Dict[str, str] = {}
    for path in sorted(Path(folder).glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for p in data.get("problems", []) if isinstance(data, dict) else []:
            if isinstance(p, dict) and p.get("problem_id") and p.get("code_template"):
                out.setdefault(str(p["problem_id"]), str(p["code_template"]))
    return out


def template(record: GenerationRecord, config: Dict[str, Any]) -> Tuple[Optional[str], str]:
    """The code template and where it was found: as shown to the model, else the run's problem files."""
    for m in reversed(record.messages):
        if m.get("role") == "user":
            found = _FENCE.findall(str(m.get("content") or ""))
            if found:
                return found[-1], "as shown to the model in its formatting turn"
    folder = (config.get("dataset") or {}).get("path")
    if folder and Path(folder).is_dir():
        found_t = _templates(str(Path(folder).resolve())).get(record.problem_id)
        if found_t:
            return found_t, f"from the problem files in {folder}"
    return None, "not found (the problem files of this run are not at hand)"


def side_by_side(left: str, right: str) -> str:
    """Two texts line by line, the lines that differ marked."""
    a, b = left.splitlines(), right.splitlines()
    rows = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        for k in range(max(i2 - i1, j2 - j1)):
            x = a[i1 + k] if i1 + k < i2 else ""
            y = b[j1 + k] if j1 + k < j2 else ""
            cls = "" if tag == "equal" else ' class="changed"'
            rows.append(f"<tr{cls}><td><pre>{esc(x)}</pre></td><td><pre>{esc(y)}</pre></td></tr>")
    return ('<table class="diff"><thead><tr><th>template</th><th>extracted code</th></tr></thead><tbody>'
            + "".join(rows) + "</tbody></table>")


def _tool_call(call: Dict[str, Any], seen: Optional[str]) -> str:
    flags = [f"exit code {call.get('exit_code')}", f"{call.get('duration_s', '?')} s",
             f"isolation: {call.get('isolation') or '?'}",
             "network blocked" if call.get("network_blocked") else "network NOT blocked"]
    if call.get("timed_out"):
        flags.append("timed out")
    if call.get("truncated"):
        flags.append("output truncated for the model")
    if call.get("limits_not_set"):
        flags.append("limits not set: " + ", ".join(map(str, call["limits_not_set"])))
    output = seen if seen is not None else call.get("output")
    return (f'<div class="tool"><h4>{esc(call.get("name") or "tool")} call <code>{esc(call.get("id"))}</code> '
            f'<span class="meta">{esc(" · ".join(flags))}</span></h4>'
            f'<pre class="code">{esc(call.get("code") or call.get("arguments"))}</pre>'
            f'<h5>output, as the model saw it</h5><pre class="output">{esc(output)}</pre></div>')


def conversation(rec: GenerationRecord) -> str:
    """Every message in order; this record's model calls carry their reasoning and timing."""
    calls = {str(c.get("id")): c for c in rec.tool_calls}
    seen = {str(m.get("tool_call_id")): str(m.get("content") or "") for m in rec.messages if m.get("role") == "tool"}
    assistants = [i for i, m in enumerate(rec.messages) if m.get("role") == "assistant"]
    own = assistants[len(assistants) - len(rec.turns):] if rec.turns else []  # earlier ones: carried from a prior step
    users = [i for i, m in enumerate(rec.messages) if m.get("role") == "user"]
    out = []
    for i, m in enumerate(rec.messages):
        role = m.get("role")
        if role == "tool":
            continue  # shown under its call
        if role == "system":
            title = "system prompt"
        elif role == "user":
            last = i == users[-1]
            title = ("formatting turn" if last and not rec.parsing and len(rec.replies) >= 2 and len(users) > 1
                     else "question")
        elif i in own:
            k = own.index(i)
            t = rec.turns[k]
            title = (f"model, turn {t.turn} (call {k + 1}: {t.latency_s:g} s, {t.attempts} attempt"
                     f"{'s' if t.attempts != 1 else ''}, finish: {t.finish_reason or '?'})")
        else:
            title = "model (an earlier step of this conversation)"
        body = ""
        if i in own:
            thought = rec.reasoning[own.index(i)] if own.index(i) < len(rec.reasoning) else None
            if thought:
                shown = " open" if len(thought) <= 1500 else ""  # a long one waits for a click
                body += f'<details class="reasoning"{shown}><summary>reasoning</summary>{markdown(thought)}</details>'
        body += markdown(str(m.get("content") or ""))
        for tc in m.get("tool_calls") or []:
            cid = str(tc.get("id"))
            call = calls.get(cid) or {"id": cid, "name": (tc.get("function") or {}).get("name"),
                                      "arguments": (tc.get("function") or {}).get("arguments")}
            body += _tool_call(call, seen.get(cid))
        out.append(f'<section class="msg {esc(role)}"><h3>{esc(title)}</h3>{body}</section>')
    return "".join(out)


def item_page(entry: RunEntry, view: RunView, rec: GenerationRecord) -> str:
    pid, epoch = rec.problem_id, rec.epoch
    out = view.outcomes.get(pid, epoch)
    problems, epochs = view.outcomes.problems, sorted(view.outcomes.epochs)
    nav = [link(url("/run", run=entry.id), f"← {view.name}")]
    if pid in problems:
        i = problems.index(pid)
        if i > 0:
            nav.append(link(url("/item", run=entry.id, p=problems[i - 1], e=epoch), "previous problem"))
        if i + 1 < len(problems):
            nav.append(link(url("/item", run=entry.id, p=problems[i + 1], e=epoch), "next problem"))
    nav += [link(url("/item", run=entry.id, p=pid, e=e), f"epoch {e}") for e in epochs if e != epoch]
    u = rec.usage
    retries = sum(max(t.attempts - 1, 0) for t in rec.turns)
    summary = [("status", esc(rec.status) + (f" — {esc(rec.error)}" if rec.error else "")),
               ("time", esc(f"{rec.started_at} → {rec.finished_at} ({rec.duration_s:g} s); {len(rec.turns)} model "
                            f"call(s), {retries} retr{'y' if retries == 1 else 'ies'}; {len(rec.tool_calls)} tool "
                            f"call(s), {rec.web_searches} web search(es)")),
               ("tokens", esc(f"{u.prompt_tokens:,} in, {u.completion_tokens:,} out ({u.reasoning_tokens:,} "
                              f"reasoning), {u.total_tokens:,} in all"))]
    if rec.fatal:
        summary.append(("cannot heal by retrying", esc(rec.fatal)))
    summary += [(k, esc(v)) for k, v in cell_words(out).items()]
    for note in rec.notes:
        summary.append(("note", esc(note)))
    checks = table(["check", "passed", "message"],
                   [[esc(c.name), "yes" if c.passed else "<strong>no</strong>", esc(c.message)] for c in rec.checks],
                   "checks") if rec.checks else "<p>No static checks (the item failed before them).</p>"
    executed = out.execution
    if executed:
        box = executed.get("sandbox") or {}
        checks += facts([("executed", esc(executed.get("status"))),
                         ("returned", f"<code>{esc(executed.get('returned'))}</code>"),
                         ("problems", esc("; ".join(map(str, executed.get("problems") or [])) or "none")),
                         ("isolation", esc(f"{box.get('isolation', '?')}, network "
                                           f"{'blocked' if box.get('network_blocked') else 'NOT blocked'}"))])
    tmpl, where = template(rec, view.config)
    code = rec.extracted_code
    if code is not None and tmpl is not None:
        code_html = f"<p>Template {esc(where)}.</p>" + side_by_side(tmpl, code)
    elif code is not None:
        code_html = f"<p>Template {esc(where)}.</p><pre class=\"code\">{esc(code)}</pre>"
    else:
        code_html = "<p>No code was extracted.</p>"
    body = (f'<p class="nav">{" · ".join(nav)}</p>' + facts(summary) + "<h2>Conversation</h2>" + conversation(rec)
            + "<h2>Extracted code</h2>" + code_html + "<h2>Checks</h2>" + checks)
    return page(f"{pid}, epoch {epoch} — {view.name}", body)
