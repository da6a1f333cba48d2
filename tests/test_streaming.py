"""Long reasoning calls: streamed replies (Chat Completions and Responses) are
gathered into the same records, an idle limit between chunks and a total limit
per call replace the single timeout, and background Responses are polled."""

from __future__ import annotations

import pytest

from critpt_harness.generation.records import latest_records
from critpt_harness.commands.generate import cmd_generate
from critpt_harness.runs import RunFolder
from tests.fakes.llm import FakeLLMServer

from .conftest import llm_overrides, make_config


@pytest.fixture(autouse=True)
def key(monkeypatch):
    monkeypatch.setenv("FAKE_LLM_KEY", "k")


def generate(llm: FakeLLMServer, tmp_path, *extra: str):
    run = RunFolder(tmp_path / "run")
    cfg = make_config(*llm_overrides(llm.url, run.path, "dataset.limit=1", "generation.epochs=1",
                                     "generation.retry.max_attempts=2", *extra))
    cmd_generate(cfg, run, echo=lambda _: None)
    return list(latest_records(run).values())


def test_a_streamed_reply_outlasts_a_timeout_an_unstreamed_one_does_not(public_dir, tmp_path):
    limits = ("model.idle_timeout=1", "model.request_timeout=10")
    with FakeLLMServer(latency=2.5) as llm:  # every reply takes 2.5 s; streamed, a chunk every ~0.2 s
        (rec,) = generate(llm, tmp_path, f"dataset.path={public_dir}", "model.stream=true",
                          "model.reasoning_effort=high", *limits)
        bodies = [r.json() for r in llm.requests]
    assert rec.status == "ok", rec.error
    assert all(b["stream"] is True and b["stream_options"] == {"include_usage": True} for b in bodies)
    assert rec.extracted_code and rec.usage.completion_tokens > 0 and rec.usage.reasoning_tokens > 0
    assert rec.reasoning[0] and "symmetries" in rec.reasoning[0]
    with FakeLLMServer(latency=2.5) as llm:  # the same reply unstreamed: silence past the idle limit
        (rec,) = generate(llm, tmp_path / "b", f"dataset.path={public_dir}", "model.stream=false",
                          "model.request_timeout=1", "model.max_timeout_retries=1")
        assert len(llm.requests) == 2  # the total limit retries once, not generation.retry's attempts
    assert rec.status == "failed" and "model.request_timeout=1s (2 tries" in rec.error


def test_stream_auto_is_on_for_reasoning_models_only(public_dir, tmp_path):
    with FakeLLMServer() as llm:
        generate(llm, tmp_path, f"dataset.path={public_dir}", "model.reasoning_effort=low")
        generate(llm, tmp_path / "b", f"dataset.path={public_dir}")
        flags = [bool(r.json().get("stream")) for r in llm.requests]
    assert flags == [True, True, False, False]  # two turns each: answer, then the formatting turn


def test_tool_calls_arrive_in_pieces_and_still_run(public_dir, tmp_path):
    with FakeLLMServer(latency=0.2) as llm:
        (rec,) = generate(llm, tmp_path, f"dataset.path={public_dir}", "model.stream=true",
                          "generation.use_python=true")
    assert rec.status == "ok", rec.error
    assert len(rec.tool_calls) == 1 and "print" in rec.tool_calls[0]["code"]


def test_a_call_that_runs_out_of_time_keeps_what_it_received(public_dir, tmp_path):
    with FakeLLMServer(latency=4.0) as llm:
        (rec,) = generate(llm, tmp_path, f"dataset.path={public_dir}", "model.stream=true",
                          "model.request_timeout=1.5", "model.max_timeout_retries=0")
        assert len(llm.requests) == 1
    assert rec.status == "failed" and "1 try" in rec.error
    assert rec.replies and 0 < len(rec.replies[0])  # the text that had arrived


@pytest.mark.parametrize("mode", ["model.stream=true", "model.background=true"])
def test_responses_api_streamed_or_in_background(public_dir, tmp_path, mode):
    with FakeLLMServer(latency=1.2) as llm:
        (rec,) = generate(llm, tmp_path, f"dataset.path={public_dir}", "model.api=responses",
                          "model.reasoning_effort=high", "model.idle_timeout=1", mode)
        polls = [r for r in llm.requests if r.method == "GET"]
        posts = [r.json() for r in llm.requests if r.method == "POST"]
    assert rec.status == "ok", rec.error
    assert rec.extracted_code and rec.usage.prompt_tokens > 0
    if mode == "model.background=true":
        assert polls and all(b["background"] is True and b["store"] is True for b in posts)
    else:
        assert not polls and all(b["stream"] is True for b in posts)


def test_background_needs_the_responses_api():
    from critpt_harness.errors import ConfigError

    with pytest.raises(ConfigError, match="model.background=true needs model.api=responses"):
        make_config("model=openai_compatible", "model.name=m", "model.base_url=http://127.0.0.1:1/v1",
                    "model.api_key_env=FAKE_LLM_KEY", "model.background=true")
