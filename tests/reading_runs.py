"""Run folders for the tests of the readers (view, table, compare, tracking), made by the real
pipeline offline, once per session.

- ``graded_runs``: two runs, A and B, of a small private set with golden answers ("Gold_N_main"),
  answered by the fake LLM over loopback (A with the python tool and reasoning), 2 epochs each,
  graded by grade-local. Which answers are right is chosen here (CORRECT_A / CORRECT_B: in how
  many of the 2 epochs each problem is answered right), so tests know every per-problem outcome.
- ``official_runs``: two runs of the synthetic public set by the offline mock model, whose
  results.json then holds per-epoch accuracies as the official grader returns them (aggregates
  only; no test can reach that grader).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from critpt_harness.commands.run import cmd_run
from critpt_harness.runs import RunFolder
from tests.fakes.llm import FakeLLMServer

from .synthetic import challenge_file, problem_record

PROBLEMS = 8
EPOCHS = 2
# epochs (of 2) in which problem N is answered right
CORRECT_A = {1: 2, 2: 2, 3: 2, 4: 1, 5: 0, 6: 2, 7: 1, 8: 0}
CORRECT_B = {1: 0, 2: 1, 3: 0, 4: 1, 5: 0, 6: 2, 7: 2, 8: 0}
OFFICIAL_A = [0.10, 0.12, 0.08]  # per-epoch accuracies in results.json
OFFICIAL_B = [0.02, 0.04, 0.03]
TEX = "\\hbar\\omega_{%d}"  # in every question: the viewer renders it as MathML
REPLY_TEX = r"The energy is $E = \frac{1}{2}\hbar\omega$, and \(x^2\) grows."


def gold_id(n: int) -> str:
    return f"Gold_{n}_main"


def write_golden_set(folder: Path) -> Path:
    """PROBLEMS challenges whose golden answer to problem N is N (a float)."""
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(1, PROBLEMS + 1):
        desc = f"\n\n# Problem setup:\nA mode has energy ${TEX % n}$.\n\n# Main problem:\nReturn {n}."
        tmpl = (f"def answer():\n    r\"\"\"\n    The value of problem {n}.\n    \"\"\"\n\n"
                "    # ------------------ FILL IN YOUR RESULTS BELOW ------------------\n"
                "    x = ...\n    # ---------------------------------------------------------------\n\n"
                "    return x\n")
        golden = f"def real_answer():\n    return {float(n)}\n"
        record = problem_record(gold_id(n), desc, tmpl, answer_code=golden, notebook=f"gold_{n}")
        (folder / f"Gold_{n}.json").write_text(json.dumps(challenge_file(f"Gold_{n}", [record])), encoding="utf-8")
    return folder


def scripted(correct: Dict[int, int]):
    """The fake LLM's replies: problem N right in its first ``correct[N]`` formatting turns."""
    seen: Dict[int, int] = {}

    def reply(body):
        last = next(m for m in reversed(body["messages"]) if m["role"] == "user")["content"]
        fence = re.search(r"```python\n(.*?)\n```", last, re.S)
        if fence is None:
            return REPLY_TEX + "\n\nFinal Answer: see below"
        n = int(re.search(r"The value of problem (\d+)", fence.group(1)).group(1))
        seen[n] = seen.get(n, 0) + 1
        value = float(n) if seen[n] <= correct[n] else n + 0.5
        return "Filled.\n\n```python\n" + fence.group(1).replace("x = ...", f"x = {value}") + "\n```"
    return reply


def cli(capsys, *args: str) -> Tuple[int, str, str]:
    """`critpt-harness <args>` in this process (exit code, stdout, stderr): quicker than a subprocess."""
    from critpt_harness.cli import main

    capsys.readouterr()
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def _run(overrides: List[str]) -> None:
    from .conftest import make_config

    cfg = make_config(*overrides)
    cmd_run(cfg, RunFolder(cfg.run_dir), echo=lambda line: None)


@pytest.fixture(scope="session")
def graded_runs(tmp_path_factory) -> Dict[str, Path]:
    from .conftest import llm_overrides

    root = tmp_path_factory.mktemp("reading")
    golden = write_golden_set(root / "golden")
    out = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CRITPT_HARNESS_CACHE", str(root / "cache"))
        mp.setenv("CRITPT_HARNESS_OFFLINE", "1")
        mp.setenv("FAKE_LLM_KEY", "k")
        mp.chdir(root)
        for name, correct, extra in (("A", CORRECT_A, ["generation.use_python=true", "model.reasoning_effort=high"]),
                                     ("B", CORRECT_B, [])):
            with FakeLLMServer(reply=scripted(correct)) as llm:
                run_dir = root / "runs" / f"model-{name.lower()}" / "run"
                _run(llm_overrides(llm.url, run_dir, f"dataset.path={golden}", "dataset.public=false",
                                   f"generation.epochs={EPOCHS}", "generation.concurrency=1", "report.plot=false",
                                   f"model.name=model-{name.lower()}", *extra))
            out[name] = run_dir
    return out


@pytest.fixture(scope="session")
def official_runs(tmp_path_factory, public_dir) -> Dict[str, Path]:
    root = tmp_path_factory.mktemp("official")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CRITPT_HARNESS_CACHE", str(root / "cache"))
        mp.setenv("CRITPT_HARNESS_OFFLINE", "1")
        mp.chdir(root)
        first = root / "runs" / "mock" / "first"
        _run([f"dataset.path={public_dir}", f"generation.epochs={len(OFFICIAL_A)}", f"run_dir={first}",
              "generation.progress=false", "report.plot=false", "checks.execute=false"])
    second = root / "runs" / "mock" / "second"
    shutil.copytree(first, second)
    for path, accuracies in ((first, OFFICIAL_A), (second, OFFICIAL_B)):
        # The synthetic set stands in for the real public set: its manifest says so (a verified v1),
        # as a run on the downloaded set would, so the fabricated official gradings are ranked.
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
        manifest["dataset"] = {**manifest.get("dataset", {}), "verified": True, "differ": []}
        (path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        (path / "results.json").write_text(json.dumps({"schema_version": 1, "epochs": {
            str(e): {"accuracy": a, "content_hash": f"{path.name}-{e}", "graded_at": f"2026-11-2{e}T10:00:00+00:00",
                     "source": "grader", "url": "https://artificialanalysis.ai/api/v2/critpt/evaluate"}
            for e, a in enumerate(accuracies)}}), encoding="utf-8")
    return {"A": first, "B": second}
