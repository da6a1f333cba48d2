"""A wrong key, URL or model name costs seconds, not minutes: one preflight request
stops the command with one line that says what to fix; during a run, K hopeless
failures in a row stop generation cleanly and the same command resumes it."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from critpt_harness.errors import BatchError, ModelUnusable
from critpt_harness.generation.loop import generate_async
from critpt_harness.generation.records import latest_records
from critpt_harness.commands.batches import cmd_assemble
from critpt_harness.commands.generate import cmd_generate
from critpt_harness.data.sets import load_problems
from critpt_harness.runs import RunFolder
from tests.fakes.llm import FakeLLMServer

from .conftest import llm_overrides, make_config, run_cli


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: connections are refused


def _run(url: str, tmp_path, *extra: str, key: str = "k"):
    args = llm_overrides(url, tmp_path / "run", "generation.preflight=true", *extra)
    start = time.monotonic()
    out = run_cli("run", *args, env={"FAKE_LLM_KEY": key})
    return out, time.monotonic() - start


def test_a_refused_key_stops_the_run_at_the_preflight(public_dir, tmp_path):
    with FakeLLMServer(api_key="right") as llm:
        out, seconds = _run(llm.url, tmp_path, f"dataset.path={public_dir}", key="wrong")
        assert len(llm.requests) == 1
    assert out.returncode == 2 and seconds < 30
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert "Traceback" not in out.stderr and len([line for line in lines if "401" in line]) == 1
    assert "preflight" in out.stderr and "$FAKE_LLM_KEY" in out.stderr and llm.url in out.stderr
    assert not (tmp_path / "run" / "batches").exists()  # nothing assembled from zero answers


def test_an_unknown_model_and_an_unreachable_host_stop_at_once(public_dir, tmp_path):
    with FakeLLMServer(models=["real-model"]) as llm:
        out, _ = _run(llm.url, tmp_path, f"dataset.path={public_dir}")
        assert len(llm.requests) == 1
    assert out.returncode == 2 and "not found (HTTP 404)" in out.stderr and "model.name" in out.stderr
    url = f"http://127.0.0.1:{closed_port()}/v1"
    out, seconds = _run(url, tmp_path, f"dataset.path={public_dir}", "run_dir=" + str(tmp_path / "r2"))
    assert out.returncode == 2 and seconds < 30, out.stderr
    assert "cannot be reached" in out.stderr and url in out.stderr and "model.base_url" in out.stderr


def test_hopeless_failures_in_a_row_stop_generation_and_the_same_command_resumes(public_dir, tmp_path, monkeypatch):
    run = RunFolder(tmp_path / "run")
    with FakeLLMServer(api_key="right") as llm:
        monkeypatch.setenv("FAKE_LLM_KEY", "wrong")
        cfg = make_config(*llm_overrides(llm.url, run.path, f"dataset.path={public_dir}", "dataset.limit=6",
                                         "generation.epochs=1", "generation.concurrency=1",
                                         "generation.stop_after_fatal=3"))
        units = load_problems(cfg.dataset).units()
        with pytest.raises(ModelUnusable, match=r"3 items in a row failed because .*key was refused \(HTTP 401\)"):
            cmd_generate(cfg, run, echo=lambda _: None)
        assert len(llm.requests) == 3  # a 401 is not retried, and no fourth item starts
        records = latest_records(run)
        assert len(records) == 3 and all(r.fatal and r.status == "failed" for r in records.values())
        with pytest.raises(BatchError, match="epoch 0: no answers at all") as info:
            cmd_assemble(cfg, run, echo=lambda _: None)
        assert str(info.value).count("no answers") == 1
        monkeypatch.setenv("FAKE_LLM_KEY", "right")
        cmd_generate(cfg, run, echo=lambda _: None)
    assert sorted(k for k, r in latest_records(run).items() if r.status == "ok") == \
        sorted((p.problem_id, 0) for u in units for p in u)


def test_transient_failures_do_not_count_towards_the_stop(public_dir, tmp_path, monkeypatch):
    from tests.fakes.base import Fault

    monkeypatch.setenv("FAKE_LLM_KEY", "k")
    run = RunFolder(tmp_path / "run")
    with FakeLLMServer() as llm:
        llm.inject(*[Fault(400, body={"error": {"message": "context too long"}}) for _ in range(4)])
        cfg = make_config(*llm_overrides(llm.url, run.path, f"dataset.path={public_dir}", "dataset.limit=6",
                                         "generation.epochs=1", "generation.concurrency=1",
                                         "generation.stop_after_fatal=2"))
        progress = asyncio.run(generate_async(cfg, load_problems(cfg.dataset).units(), run))
    assert progress.failed == 4 and progress.done == 2  # a 400 that is not about the model never stops it
