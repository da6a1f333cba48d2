"""The harness side of one cell of the sandbox matrix (tests/test_sandbox_matrix.py), run by
the interpreter of the layout under test, as the user under test:

    <python> -S tests/sandbox_driver.py '<job as JSON>'

It makes the harness's dependencies importable (``site.addsitedir``: the interpreter need not
have them, and with -S its own site-packages cannot shadow them), and for each backend of the job
(``PATH`` set for each: none for the bundled bwrap) chooses it as a run would and sends hostile
code through the python tool, the execution checks and the judge. Prints one JSON object:
{backend: outcomes}.
"""

from __future__ import annotations

import json
import site
import sys

job = json.loads(sys.argv[1])
for path in job["site"]:
    site.addsitedir(path)

import asyncio  # noqa: E402
import os  # noqa: E402
from dataclasses import replace  # noqa: E402

from critpt_harness.checks.sandboxed import execution_checks  # noqa: E402
from critpt_harness.config import ChecksConfig, SandboxConfig, ToolsConfig  # noqa: E402
from critpt_harness.data.problems import Problem  # noqa: E402
from critpt_harness.grading.judge import JudgeItem, run_judge  # noqa: E402
from critpt_harness.tools import confine  # noqa: E402
from critpt_harness.tools.calls import ToolBudget, execute  # noqa: E402
from critpt_harness.tools.probe import table  # noqa: E402
from critpt_harness.tools.sandbox import SandboxUnavailable, choose_async, forget  # noqa: E402
from critpt_harness.tools.spawn import spawn  # noqa: E402


real_userns = confine.user_namespaces


class Call:
    def __init__(self, code: str):
        self.id, self.name, self.arguments = "c1", "python", json.dumps({"code": code})


async def cell(backend: str) -> dict:
    os.environ["PATH"] = "/nonexistent" if backend == "bwrap-bundled" else job["path"]
    # As where user namespaces are disabled (Ubuntu 24.04, many pods): the limit then counts the uid's tasks.
    confine.user_namespaces = (lambda as_root: False) if backend == "landlock-no-userns" else real_userns
    forget()
    cfg = SandboxConfig(backend="bwrap" if backend.startswith("bwrap") else "landlock", timeout=60, max_processes=32)
    out: dict = {"python": sys.executable, "prefix": sys.prefix, "uid": os.getuid()}
    try:
        iso = await choose_async(cfg)
    except SandboxUnavailable as exc:
        out["refused"] = str(exc)
        return out
    out["backend"], out["via"] = iso.backend, iso.via
    out["probe"] = table(iso.probe) if iso.probe else []  # the probe that chose the backend
    if job.get("wall"):  # past the wall-clock limit: stopped, with what it left running
        slow = await spawn(iso.backend, "import os, time\nos.fork()\ntime.sleep(30)\n", replace(cfg, timeout=1.0),
                           bwrap=iso.bwrap)
        out["wall"] = {"timed_out": slow.timed_out, "duration_s": slow.duration_s}
    output, entry = await execute(Call(job["hostile"]), ToolBudget(ToolsConfig(sandbox=cfg)), 1)
    out["tool_output"], out["tool_isolation"] = output, entry.get("isolation")
    template = "def answer():\n    return ...\n"  # no sympy: a system python need not have it
    problems = [Problem(problem_id=pid, code_template=template, problem_description="d")
                for pid in ("P_hostile", "P_right")]
    right = "def answer():\n    return 1.5\n"
    checks = await execution_checks([(problems[0], job["probe_fn"] + "def answer():\n    return _probe()\n"),
                                     (problems[1], right)],
                                    ChecksConfig(timeout_per_problem=20, sandbox=cfg))
    out["checks"] = {pid: {"status": c.status, "returned": c.returned, "isolation": c.sandbox.get("isolation")}
                     for pid, c in checks.items()}
    item = JudgeItem(id="J1", candidate=job["probe_fn"] + "def answer():\n    return _probe()\n",
                     golden="def real_answer():\n    return 'x'\n")
    verdict = (await run_judge([item], cfg, timeout=30, workers=1))["J1"]
    out["judge"] = {"status": verdict.get("status"), "isolation": verdict.get("isolation"),
                    "text": json.dumps(verdict)}
    return out


async def main() -> dict:
    return {backend: await cell(backend) for backend in job["backends"]}


print(json.dumps(asyncio.run(main())))
