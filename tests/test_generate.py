"""Generation against a real local OpenAI-compatible server, with faults."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from critpt_harness.generation import prompts
from critpt_harness.generation.loop import generate_async
from critpt_harness.generation.records import keep_status, latest_records, record_statuses
from critpt_harness.data.problems import load_directory
from critpt_harness.runfiles import read_jsonl
from critpt_harness.runs import RunFolder
from tests.fakes.base import Fault
from tests.fakes.llm import FakeLLMServer

from .conftest import llm_overrides, make_config


@pytest.fixture
def problems(public_dir):
    return list(load_directory(public_dir).problems)


def generate(cfg, problems, run):
    return asyncio.run(generate_async(cfg, problems, run))


def test_two_step_conversation_is_recorded_in_full(problems, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_LLM_KEY", "sk-test-llm-123456")
    with FakeLLMServer() as llm:
        cfg = make_config(*llm_overrides(llm.url, tmp_path / "run", "generation.epochs=1", "model.temperature=0.3",
                                         "model.max_output_tokens=2048", "model.reasoning_effort=high",
                                         "+model.extra_body.seed=7"))
        progress = generate(cfg, problems[:3], RunFolder(tmp_path / "run"))
    assert progress.done == 3 and progress.failed == 0
    assert len(llm.requests) == 6  # two turns per problem
    first = llm.requests[0]
    assert first.headers["authorization"] == "Bearer sk-test-llm-123456"
    body = first.json()
    assert body["model"] == "fake-model" and body["temperature"] == 0.3 and body["max_tokens"] == 2048
    assert body["reasoning_effort"] == "high" and body["seed"] == 7
    rec = latest_records(RunFolder(tmp_path / "run"))[("Challenge_1_main", 0)]
    assert [m["role"] for m in rec.messages] == ["system", "user", "assistant", "user", "assistant"]
    assert rec.messages[0]["content"] == prompts.system_prompt(False)
    assert rec.messages[1]["content"] == problems[0].problem_description
    assert problems[0].code_template in rec.messages[3]["content"]
    assert rec.replies == [rec.messages[2]["content"], rec.messages[4]["content"]]
    assert "Final Answer:" in rec.replies[0] and rec.extracted_code and rec.checks_passed
    assert rec.usage.total_tokens > 0 and len(rec.turns) == 2 and rec.prompt_hash == prompts.prompt_hash()


def test_a_local_server_with_a_null_key_gets_no_authorization(problems, tmp_path, monkeypatch):
    from critpt_harness.commands.generate import check_keys

    monkeypatch.setenv("FAKE_LLM_KEY", "sk-real-key-must-not-leak")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-must-not-leak")
    with FakeLLMServer() as llm:
        overrides = [o if not o.startswith("model.api_key_env=") else "model.api_key_env=null"
                     for o in llm_overrides(llm.url, tmp_path / "run", "generation.epochs=1")]
        cfg = make_config(*overrides)
        assert cfg.model.api_key_env is None
        check_keys(cfg, evaluator=False)  # no key needed
        progress = generate(cfg, problems[:2], RunFolder(tmp_path / "run"))
    assert progress.done == 2 and progress.failed == 0
    assert len(llm.requests) == 4
    for req in llm.requests:
        assert "authorization" not in req.headers
        assert not any("must-not-leak" in v or "EMPTY" in v for v in req.headers.values())


def test_one_step_sends_the_template_with_the_problem(problems, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_LLM_KEY", "k")
    with FakeLLMServer() as llm:
        cfg = make_config(*llm_overrides(llm.url, tmp_path / "run", "generation=one_step", "generation.epochs=1"))
        generate(cfg, problems[:2], RunFolder(tmp_path / "run"))
    assert len(llm.requests) == 2
    messages = llm.requests[0].json()["messages"]
    assert messages[0]["content"] == prompts.system_prompt(True)
    assert problems[0].code_template in messages[1]["content"]
    rec = latest_records(RunFolder(tmp_path / "run"))[("Challenge_1_main", 0)]
    assert rec.parsing and rec.checks_passed and len(rec.replies) == 1


def test_concurrency_limit_is_respected(problems, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_LLM_KEY", "k")
    with FakeLLMServer(latency=0.05) as llm:
        cfg = make_config(*llm_overrides(llm.url, tmp_path / "run", "generation.epochs=2",
                                         "generation.concurrency=5"))
        progress = generate(cfg, problems[:10], RunFolder(tmp_path / "run"))
    assert progress.done == 20 and llm.max_in_flight == 5


def test_transient_failures_are_retried_and_retry_after_honoured(problems, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_LLM_KEY", "k")
    with FakeLLMServer() as llm:
        llm.inject(Fault(429, headers={"Retry-After": "1"}), Fault(500), Fault(502), Fault.dropped(),
                   Fault(503))
        cfg = make_config(*llm_overrides(llm.url, tmp_path / "run", "generation.epochs=1",
                                         "generation.concurrency=1"))
        progress = generate(cfg, problems[:2], RunFolder(tmp_path / "run"))
    assert progress.done == 2 and progress.failed == 0 and progress.retries == 5
    recs = latest_records(RunFolder(tmp_path / "run"))
    assert recs[("Challenge_1_main", 0)].turns[0].attempts == 6
    assert len(llm.requests) == 4 + 5
    # the retry after the 429 came no sooner than its Retry-After allowed
    assert llm.requests[1].at - llm.requests[0].at >= 0.95


def test_a_persistent_failure_is_recorded_not_fatal_and_retried_next_run(problems, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_LLM_KEY", "k")
    run = RunFolder(tmp_path / "run")
    with FakeLLMServer() as llm:
        llm.inject(*[Fault(500, body={"error": {"message": "upstream exploded"}})] * 3)
        cfg = make_config(*llm_overrides(llm.url, run.path, "generation.epochs=1", "generation.concurrency=1",
                                         "generation.retry.max_attempts=3"))
        progress = generate(cfg, problems[:3], run)
        assert (progress.done, progress.failed) == (2, 1)
        assert progress.statuses == record_statuses(run)  # what generate's summary counts, without re-reading
        failed = latest_records(run)[("Challenge_1_main", 0)]
        assert failed.status == "failed" and "500" in failed.error and "upstream exploded" in failed.error
        before = len(llm.requests)
        again = generate(cfg, problems[:3], run)
        assert (again.done, again.failed, again.total) == (1, 0, 1)
        assert again.statuses == {("Challenge_1_main", 0): "ok"}
        merged = dict(progress.statuses)
        for key, status in again.statuses.items():
            keep_status(merged, key, status)
        assert merged == record_statuses(run) and set(merged.values()) == {"ok"}
        assert len(llm.requests) - before == 2  # only the failed item, two turns
    recs = latest_records(run)
    assert all(r.status == "ok" for r in recs.values()) and len(recs) == 3


def test_a_retry_after_beyond_the_limit_fails_the_item_at_once(problems, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_LLM_KEY", "k")
    with FakeLLMServer() as llm:
        llm.inject(Fault(429, headers={"Retry-After": "86400"}))
        cfg = make_config(*llm_overrides(llm.url, tmp_path / "run", "generation.epochs=1",
                                         "generation.concurrency=1"))
        start = time.monotonic()
        progress = generate(cfg, problems[:1], RunFolder(tmp_path / "run"))
    assert progress.failed == 1 and time.monotonic() - start < 5
    rec = latest_records(RunFolder(tmp_path / "run"))[("Challenge_1_main", 0)]
    assert "86400" in rec.error


def test_resume_after_a_killed_run_loses_nothing_and_duplicates_nothing(public_dir, tmp_path):
    run_dir = tmp_path / "run"
    gen_file = run_dir / "generations.jsonl"
    env = {**os.environ, "FAKE_LLM_KEY": "k"}
    with FakeLLMServer(latency=0.02) as llm:
        args = [sys.executable, "-m", "critpt_harness", "generate", *llm_overrides(
            llm.url, run_dir, f"dataset.path={public_dir}", "generation.epochs=2", "generation.concurrency=4")]
        proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if gen_file.exists() and gen_file.read_text().count("\n") >= 20:
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        first = [line for line in gen_file.read_text().splitlines() if line.strip()]
        assert 20 <= len(first) < 140
        with gen_file.open("a") as f:  # a write torn by the crash
            f.write('{"problem_id": "Challenge_9_main", "epoch"')
        requests_before = len(llm.requests)
        done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    lines = gen_file.read_text().splitlines()
    assert lines[:len(first)] == first  # earlier records untouched
    records = list(read_jsonl(gen_file))
    keys = [(r["problem_id"], r["epoch"]) for r in records if r["status"] == "ok"]
    assert len(keys) == len(set(keys)) == 140
    finished_first = {(json.loads(l)["problem_id"], json.loads(l)["epoch"]) for l in first}
    assert len(llm.requests) - requests_before == 2 * (140 - len(finished_first))
