"""Private problem sets with golden answers: checkpoints as one conversation, local grading."""

import asyncio
import json
import re

import pytest

from critpt_harness.errors import BatchError
from critpt_harness.generation.loop import generate_async
from critpt_harness.generation.records import latest_records
from critpt_harness.commands.batches import cmd_assemble
from critpt_harness.commands.generate import cmd_generate
from critpt_harness.commands.grading import cmd_grade_local
from critpt_harness.commands.run import cmd_run
from critpt_harness.commands.submission import cmd_submit
from critpt_harness.data.problems import load_directory
from critpt_harness.runfiles import read_json
from critpt_harness.runs import RunFolder
from tests.fakes.llm import FakeLLMServer

from .conftest import llm_overrides, make_config
from .synthetic import EXAMPLE_CHALLENGE


def golden_replies(example_dir):
    """Reply with each problem's golden code in its formatting turn."""
    problems = load_directory(example_dir, expect_public=False, checkpoints=True).problems
    by_template = {p.code_template: p.answer_code.replace("def real_answer", "def answer") for p in problems}

    def reply(body):
        last = next(m for m in reversed(body["messages"]) if m["role"] == "user")["content"]
        match = re.search(r"```python\n(.*?)\n```", last, re.S)
        if match and match.group(1) in by_template:
            return f"```python\n{by_template[match.group(1)]}\n```"
        return None
    return reply


def private(example_dir, tmp_path, *extra):
    return [f"dataset.path={example_dir}", "dataset.public=false", "dataset.checkpoints=true",
            f"run_dir={tmp_path / 'run'}", "generation.epochs=1", "generation.progress=false", *extra]


def test_checkpoints_run_as_one_conversation(example_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_LLM_KEY", "k")
    with FakeLLMServer() as llm:
        cfg = make_config(*llm_overrides(llm.url, tmp_path / "run", *private(example_dir, tmp_path)))
        units = load_directory(example_dir, expect_public=False, checkpoints=True).units()
        asyncio.run(generate_async(cfg, units, RunFolder(cfg.run_dir)))
    recs = latest_records(RunFolder(cfg.run_dir))
    assert len(recs) == 4 and all(r.status == "ok" for r in recs.values())  # main + 3 checkpoints
    sub0, sub1, sub2 = (recs[(f"{EXAMPLE_CHALLENGE}_sub_{k}", 0)] for k in range(3))
    # step 2 sees step 1's question and answer, not step 1's formatting turn
    assert sub1.messages[:3] == sub0.messages[:3]
    assert sub1.messages[3]["content"].startswith("## Subproblem 1:")
    assert not any("Fill in" in str(m["content"]) or "formatting only" in str(m["content"])
                   for m in sub1.messages[:3])
    assert len(sub2.messages) == 1 + 2 * 3 + 2  # system, 3 x (question, answer), formatting turn
    # no golden answer of an earlier step leaks into a later question
    assert not any("### Answer" in str(m["content"]) for m in sub2.messages)
    # the main problem is a conversation of its own
    assert len(recs[(f"{EXAMPLE_CHALLENGE}_main", 0)].messages) == 5


def test_a_private_set_is_assembled_and_graded_locally(example_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_LLM_KEY", "k")
    with FakeLLMServer(reply=golden_replies(example_dir)) as llm:
        cfg = make_config(*llm_overrides(llm.url, tmp_path / "run", *private(example_dir, tmp_path), "report.plot=false"))
        lines = []
        cmd_run(cfg, RunFolder(cfg.run_dir), echo=lines.append)
    run = RunFolder(cfg.run_dir)
    batch = read_json(run.batch_file(0))
    assert len(batch["submissions"]) == 4
    grades = read_json(run.path / "local_grades.json")
    assert grades["local_grader"] is True
    epoch = grades["epochs"]["0"]
    assert epoch["accuracy"] == 1.0 and epoch["checkpoint_accuracy"] == 1.0
    assert any("NOT the official grader" in line for line in lines)
    # the official grader is never asked to grade a private set
    with pytest.raises(BatchError, match="private problem set"):
        cmd_submit(make_config(f"run_dir={run.path}"), run, echo=lambda s: None)


def test_the_mock_answers_grade_zero(example_dir, tmp_path):
    cfg = make_config(*private(example_dir, tmp_path, "checks.execute=false"))
    run = RunFolder(cfg.run_dir)
    cmd_generate(cfg, run, echo=lambda s: None)
    cmd_assemble(cfg, run, echo=lambda s: None)
    cmd_grade_local(cfg, run, echo=lambda s: None)
    grades = read_json(run.path / "local_grades.json")
    assert grades["epochs"]["0"]["accuracy"] == 0.0 and grades["summary"]["epochs_graded"] == 1
    assert json.loads(run.manifest_file.read_text())["public_set"] is False
