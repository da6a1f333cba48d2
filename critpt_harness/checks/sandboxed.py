"""Pre-submission checks: the static ones stored in each generation record
(extract.py) plus those that run the answer (DESIGN section 4, second half),
summarised per epoch into ``batches/epoch_N.checks.json``.

For the templates whose ``answer`` takes nothing or only module-level symbols
(67 of the 70), the extracted code is run in the sandbox with the template's
own symbols as arguments. It must return in time, without raising, the
template's number of values, finite numbers, sympy results whose free symbols
are among the arguments, and strings from the choices a template lists. The
other templates (concrete inputs) are reported as not executable.
"""

from __future__ import annotations

import ast
import json
import math
import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ..config import ChecksConfig
from ..config.sandbox import SandboxConfig
from ..contracts import GenerationRecord
from ..data.problems import Problem
from ..tools.sandbox import SandboxUnavailable, choose_async, run_python
from ..secrets import redact

_CHOICES = re.compile(r"one of\s*\{([^}]*)\}")
# Only the package directory is visible in the sandbox (run_python's with_package puts it on sys.path).
_BOOTSTRAP = "from critpt_harness.tools.exec_runner import main\nmain()\n"
MARK = "@@critpt-check@@ "  # as in exec_runner (not imported: it runs in the sandbox)


@dataclass(frozen=True)
class TemplateShape:
    executable: bool
    reason: str
    n_values: int
    return_names: Tuple[str, ...]
    choices: Dict[str, Tuple[str, ...]] = field(default_factory=dict, hash=False, compare=False)


@lru_cache(maxsize=256)
def template_shape(template: str) -> TemplateShape:
    """What the template promises: inputs, number of returned values, choices."""
    tree = ast.parse(template)
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "answer")
    args = [a.arg for a in fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs]
    defined = {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
    defined |= {elt.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets
                if isinstance(t, ast.Tuple) for elt in t.elts if isinstance(elt, ast.Name)}
    # Imports bind names too (Challenge_25: `from sympy.physics.units import speed_of_light as c`).
    defined |= {(a.asname or a.name).split(".")[0] for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))
                for a in n.names}
    missing = [a for a in args if a not in defined]
    returns = [n for n in ast.walk(fn) if isinstance(n, ast.Return) and n.value is not None]
    value = returns[-1].value if returns else None
    names: Tuple[str, ...] = ()
    n_values = 1
    if isinstance(value, ast.Tuple):
        n_values = len(value.elts)
        names = tuple(e.id if isinstance(e, ast.Name) else "" for e in value.elts)
    elif isinstance(value, ast.Name):
        names = (value.id,)
    choices: Dict[str, Tuple[str, ...]] = {}
    for line in template.splitlines():
        m = re.match(r"\s*(\w+)\s*=\s*\.\.\..*#.*", line)
        found = _CHOICES.search(line) if m else None
        if m and found:
            choices[m.group(1)] = tuple(c.strip().strip("'\"") for c in found.group(1).split(","))
    reason = "" if not missing else f"answer() takes concrete inputs ({', '.join(missing)})"
    return TemplateShape(not missing, reason, n_values, names, choices)


@dataclass
class ExecCheck:
    status: str  # pass | fail | skipped
    problems: List[str] = field(default_factory=list)
    returned: Optional[str] = None
    # The isolation the answer ran under (SandboxResult.record()); empty when it did not run.
    sandbox: Dict[str, Any] = field(default_factory=dict)


def _parse(stdout: str) -> Tuple[Dict[str, dict], Optional[str]]:
    done: Dict[str, dict] = {}
    started = None
    for line in stdout.splitlines():
        if not line.startswith(MARK):
            continue
        event = json.loads(line[len(MARK):])
        if "start" in event:
            started = event["start"]
        else:
            done[event["id"]] = event
            started = None
    return done, started


async def execution_checks(items: Sequence[Tuple[Problem, str]], cfg: ChecksConfig) -> Dict[str, ExecCheck]:
    """Check each (problem, code) of one epoch, by problem id (see run_checks)."""
    return await run_checks([(problem.problem_id, problem, code) for problem, code in items], cfg)


async def run_checks(items: Sequence[Tuple[str, Problem, str]], cfg: ChecksConfig) -> Dict[str, ExecCheck]:
    """Check each (key, problem, code); one sandbox process runs them all (its start, with
    sympy's import, is most of the cost: ~1 s against well under 1 ms per answer), and a
    crash or time-out of one answer fails that answer only (the rest run again)."""
    results: Dict[str, ExecCheck] = {}
    pending: List[Dict[str, Any]] = []
    for key, problem, code in items:
        shape = template_shape(problem.code_template)
        if not shape.executable:
            results[key] = ExecCheck("skipped", [f"not executable: {shape.reason}"])
        else:
            pending.append({"id": key, "template": problem.code_template, "code": code,
                            "timeout": cfg.timeout_per_problem, "n_values": shape.n_values,
                            "return_names": list(shape.return_names),
                            "choices": {k: list(v) for k, v in shape.choices.items()}})
    sandbox = cfg.sandbox
    while pending:
        budget = cfg.timeout_per_problem * len(pending) + cfg.startup_seconds
        # The process holds every answer: its CPU limit grows with them, as its time limit does.
        limits = replace(sandbox, timeout=budget, cpu_seconds=max(sandbox.cpu_seconds, math.ceil(budget)),
                         max_output_chars=10_000_000)
        out = await run_python(_BOOTSTRAP, limits, stdin=json.dumps(pending), with_package=True)
        done, crashed_in = _parse(out.stdout)
        for event in done.values():
            returned = event.get("returned")  # keys the harness read never reach the checks file
            results[event["id"]] = ExecCheck("fail" if event["status"] != "pass" else "pass",
                                             [redact(str(m)) for m in event.get("problems", [])],
                                             redact(returned) if isinstance(returned, str) else returned,
                                             out.record())
        pending = [p for p in pending if p["id"] not in done]
        if not pending:
            break
        if crashed_in is None:  # nothing started: the runner itself could not run
            for p in pending:
                results[p["id"]] = ExecCheck("fail", [f"the check could not run: {out.stderr.strip()[-300:]}"],
                                             sandbox=out.record())
            break
        why = "the time limit" if out.timed_out else f"exit code {out.exit_code}"
        results[crashed_in] = ExecCheck("fail", [f"ended the check process ({why})"], sandbox=out.record())
        pending = [p for p in pending if p["id"] != crashed_in]
    return results


def summarize(records: Sequence[GenerationRecord], executed: Optional[Dict[str, ExecCheck]] = None) -> Dict[str, Any]:
    """One epoch's check results: static ones from the records, execution ones when run."""
    failures: Dict[str, List[str]] = {}
    per_check: Dict[str, int] = {}
    for r in records:
        for c in r.checks:
            per_check[c.name] = per_check.get(c.name, 0) + int(c.passed)
            if not c.passed:
                failures.setdefault(r.problem_id, []).append(f"{c.name}: {c.message}")
    summary: Dict[str, Any] = {"problems": len(records), "answered": [r.problem_id for r in records],
                               "passed_per_check": per_check}
    if executed is not None:
        ran = {pid: e for pid, e in executed.items() if e.status != "skipped"}
        per_check["executes"] = sum(1 for e in ran.values() if e.status == "pass")
        for pid, e in ran.items():
            if e.status != "pass":
                failures.setdefault(pid, []).extend(f"executes: {m}" for m in e.problems)
        summary["not_executable"] = sorted(pid for pid, e in executed.items() if e.status == "skipped")
        summary["execution"] = {pid: {"status": e.status, "problems": e.problems, "returned": e.returned,
                                      **({"sandbox": e.sandbox} if e.sandbox else {})}
                                for pid, e in executed.items()}
        # Which isolation the answers ran under (bwrap | landlock | subprocess | docker), for the report.
        summary["isolation"] = sorted({e.sandbox["isolation"] for e in executed.values() if e.sandbox})
    summary["passed_all"] = len(records) - len(failures)
    summary["failures"] = failures
    return summary


def refuses_unisolated(box: SandboxConfig) -> bool:
    """Where no sandbox isolates, the execution checks are skipped under sandbox.backend=auto; a
    backend named explicitly that cannot run is refused instead."""
    return box.backend != "auto"


async def check_epochs(records: Mapping[int, Sequence[GenerationRecord]], problems: Dict[str, Problem],
                       cfg: ChecksConfig) -> Dict[int, Dict[str, Any]]:
    """Each epoch's check summary; the execution checks of every epoch run in one sandbox
    process (when configured), so its start is paid once, not once per epoch. Where no sandbox
    that isolates can run (``auto``), the execution checks are skipped and each summary says why
    (``execution_skipped``); a backend named explicitly that cannot run raises."""
    executed: Optional[Dict[str, ExecCheck]] = None  # None: the execution checks did not run
    skipped = None
    if cfg.execute:
        try:
            await choose_async(cfg.sandbox)
        except SandboxUnavailable as exc:
            if refuses_unisolated(cfg.sandbox):
                raise
            skipped = str(exc)  # no sandbox isolates here: the static checks still run
        else:
            executed = await run_checks([(f"{epoch}/{r.problem_id}", problems[r.problem_id], r.extracted_code)
                                         for epoch, recs in records.items() for r in recs
                                         if r.extracted_code and r.problem_id in problems], cfg)
    summaries = {}
    for epoch, recs in records.items():
        ran = None if executed is None else {r.problem_id: executed[key] for r in recs
                                             if (key := f"{epoch}/{r.problem_id}") in executed}
        summaries[epoch] = summarize(recs, ran)
        if skipped:
            summaries[epoch]["execution_skipped"] = skipped
    return summaries


async def check_records(records: Sequence[GenerationRecord], problems: Dict[str, Problem],
                        cfg: ChecksConfig) -> Dict[str, Any]:
    """The check summary of one epoch's records (execution checks when configured)."""
    return (await check_epochs({0: records}, problems, cfg))[0]
