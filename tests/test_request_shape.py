"""The official request shape: one assistant message with the final reply and the raw
formatting-turn reply as generated_code (both settable), a body-size limit checked
before posting, and an empty first reply that still gets its formatting turn."""

from __future__ import annotations

import json

import pytest

from critpt_harness.errors import BatchError
from critpt_harness.generation.records import latest_records
from critpt_harness.commands.batches import cmd_assemble
from critpt_harness.commands.generate import cmd_generate
from critpt_harness.commands.submission import cmd_submit
from critpt_harness.runfiles import read_json
from critpt_harness.runs import RunFolder
from tests.fakes.grader import FakeGrader
from tests.fakes.llm import FakeLLMServer

from .conftest import llm_overrides, make_config


@pytest.fixture(scope="module")
def generated(public_dir, tmp_path_factory):
    run = RunFolder(tmp_path_factory.mktemp("shape") / "run")
    cfg = make_config(f"dataset.path={public_dir}", f"run_dir={run.path}", "generation.epochs=1",
                      "generation.progress=false")
    cmd_generate(cfg, run, echo=lambda _: None)
    return run


def batch(run: RunFolder, *overrides: str) -> dict:
    cmd_assemble(make_config(f"run_dir={run.path}", *overrides), run, echo=lambda _: None)
    return read_json(run.batch_file(0))


@pytest.mark.parametrize("mode", ["official", "none", "full"])
def test_messages_modes(generated, mode):
    records = {r.problem_id: r for r in latest_records(generated).values()}
    for sub in batch(generated, f"evaluator.messages={mode}")["submissions"]:
        rec = records[sub["problem_id"]]
        if mode == "official":
            assert sub["messages"] == [{"role": "assistant", "content": rec.replies[-1]}]
        elif mode == "none":
            assert "messages" not in sub
        else:
            assert [m["role"] for m in sub["messages"]] == [m["role"] for m in rec.messages]
            assert all(set(m) <= {"role", "content", "tool_calls", "tool_call_id", "name"} for m in sub["messages"])


def test_generated_code_is_the_raw_reply_unless_asked_for_the_extracted_code(generated):
    records = {r.problem_id: r for r in latest_records(generated).values()}
    raw = batch(generated)["submissions"]
    assert all(s["generated_code"] == records[s["problem_id"]].replies[-1] for s in raw)
    extracted = batch(generated, "evaluator.generated_code=extracted")["submissions"]
    assert all(s["generated_code"] == f"```python\n{records[s['problem_id']].extracted_code}\n```" for s in extracted)


def test_a_body_over_the_limit_is_refused_before_posting(generated):
    batch(generated, "evaluator.messages=full")
    size = len(json.dumps(read_json(generated.batch_file(0))).encode()) / 1e6
    with FakeGrader(api_key="g") as grader:
        cfg = make_config(f"run_dir={generated.path}", f"evaluator.url={grader.url}", "evaluator.dry_run=true",
                          f"evaluator.max_body_mb={size / 2:.6f}")
        with pytest.raises(BatchError, match=r"over evaluator.max_body_mb=.*evaluator.messages=official"):
            cmd_submit(cfg, generated, echo=lambda _: None)
        assert grader.requests == [] and not (generated.path / "requests").exists()


def test_an_empty_first_reply_goes_on_to_the_formatting_turn(public_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_LLM_KEY", "k")

    def reply(body):  # nothing in the answer turn; the formatting turn answers normally
        return "" if sum(1 for m in body["messages"] if m["role"] == "user") == 1 else None

    with FakeLLMServer(reply=reply) as llm:
        run = RunFolder(tmp_path / "run")
        cmd_generate(make_config(*llm_overrides(llm.url, run.path, f"dataset.path={public_dir}", "dataset.limit=2",
                                                "generation.epochs=1")), run, echo=lambda _: None)
        assert len(llm.requests) == 4  # two turns per item: never re-asked
    for rec in latest_records(run).values():
        assert rec.status == "ok" and rec.replies[0] == "" and rec.extracted_code
        assert "empty reply in turn 1" in rec.notes[0] and "formatting turn" in rec.notes[0]
