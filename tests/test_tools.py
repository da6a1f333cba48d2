"""The "code" and "code & web" protocols: sandbox, tool loop, Responses API, reasoning."""

import asyncio
import json

import pytest

from critpt_harness.config import SandboxConfig, validate
from critpt_harness.errors import ConfigError
from critpt_harness.generation.loop import generate_async
from critpt_harness.generation.records import latest_records
from critpt_harness.generation.models.chat import OpenAIChatModel
from critpt_harness.generation.models.openai_base import reasoning_budget, retry_policy
from critpt_harness.commands.batches import cmd_assemble
from critpt_harness.data.problems import load_directory
from critpt_harness.runfiles import read_json
from critpt_harness.runs import RunFolder
from critpt_harness.tools.sandbox import network_isolation_available, run_python
from tests.fakes.base import FakeServer
from tests.fakes.llm import FakeLLMServer

from .conftest import llm_overrides, make_config


def sandbox(**kw):
    return SandboxConfig(**{"timeout": 10, **kw})


def run(code, **kw):
    return asyncio.run(run_python(code, sandbox(**kw)))


# -- sandbox --------------------------------------------------------------------------------------

def test_sandbox_runs_code_in_a_fresh_folder_each_time():
    first = run("import os; open('mark.txt', 'w').write('x'); print(os.getcwd())")
    second = run("import os; print(os.path.exists('mark.txt'), os.getcwd())")
    assert first.exit_code == 0 and second.stdout.split()[0] == "False"
    if first.isolation == "subprocess":  # bwrap and docker show every call's own folder as /sandbox
        assert first.stdout.strip() != second.stdout.split()[1]


def test_sandbox_time_limit_kills_the_code():
    result = run("while True:\n    pass", timeout=1)
    assert result.timed_out and result.duration_s < 5
    assert "time limit" in result.as_tool_output()


def test_sandbox_memory_limit():
    result = run("x = bytearray(800 * 1024 * 1024)\nprint('allocated')", memory_mb=256)
    assert result.exit_code != 0 and "allocated" not in result.stdout
    assert "MemoryError" in result.stderr


def test_sandbox_sees_no_secrets(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-should-not-leak")
    result = run("import os, json; print(json.dumps(dict(os.environ)))")
    env = json.loads(result.stdout)
    assert "OPENAI_API_KEY" not in env and "sk-should-not-leak" not in result.stdout
    assert set(env) <= {"PATH", "HOME", "TMPDIR", "LANG", "PYTHONIOENCODING", "OMP_NUM_THREADS",
                        "OPENBLAS_NUM_THREADS", "MPLBACKEND", "LC_CTYPE", "PWD"}


def test_sandbox_blocks_the_network_where_the_os_allows_it():
    if not network_isolation_available():
        pytest.skip("no user namespaces here: the network is not blocked (documented)")
    with FakeServer() as server:
        port = server.root.rsplit(":", 1)[1]
        code = f"import socket\ns = socket.socket()\ns.settimeout(3)\nprint(s.connect_ex(('127.0.0.1', {port})))"
        blocked = run(code)
        assert blocked.network_blocked and blocked.stdout.strip() != "0"
        opened = run(code, block_network=False)
        assert not opened.network_blocked and opened.stdout.strip() == "0"


def test_sandbox_truncates_huge_output():
    result = run("print('x' * 200000)", max_output_chars=1000)
    assert result.truncated and len(result.stdout) < 1200 and "truncated" in result.stdout


# -- the tool loop ----------------------------------------------------------------------------------

@pytest.fixture
def problems(public_dir):
    return list(load_directory(public_dir).problems)


def generate(cfg, problems, run_dir):
    return asyncio.run(generate_async(cfg, problems, RunFolder(run_dir)))


def test_offline_mock_runs_the_python_tool(problems, tmp_path, public_dir):
    cfg = make_config(f"run_dir={tmp_path / 'run'}", "generation.epochs=1", "generation.use_python=true",
                      "generation.progress=false", f"dataset.path={public_dir}")
    generate(cfg, problems[:2], tmp_path / "run")
    rec = latest_records(RunFolder(tmp_path / "run"))[("Challenge_1_main", 0)]
    assert rec.status == "ok" and len(rec.tool_calls) == 1
    assert rec.tool_calls[0]["output"].strip() == "42" and rec.tool_calls[0]["exit_code"] == 0
    assert "python` tool" in rec.messages[0]["content"]
    assert [m["role"] for m in rec.messages] == ["system", "user", "assistant", "tool", "assistant", "user",
                                                 "assistant"]
    assert "printed 42" in rec.replies[0]


def test_a_full_tool_loop_over_chat_completions(problems, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_LLM_KEY", "k")
    with FakeLLMServer(tool_rounds=3, tool_code="import math\nprint(math.factorial(5))") as llm:
        cfg = make_config(*llm_overrides(llm.url, tmp_path / "run", "generation.epochs=1",
                                         "generation.use_python=true"))
        generate(cfg, problems[:1], tmp_path / "run")
    rec = latest_records(RunFolder(tmp_path / "run"))[("Challenge_1_main", 0)]
    assert rec.status == "ok" and [c["output"].strip() for c in rec.tool_calls] == ["120"] * 3
    assert len(llm.requests) == 5  # 3 tool calls + answer, then the parse turn
    sent = llm.requests[3].json()
    assert sent["tools"][0]["function"]["name"] == "python" and sent["tool_choice"] == "auto"
    tool_msgs = [m for m in sent["messages"] if m["role"] == "tool"]
    calls = [c["id"] for m in sent["messages"] if m.get("tool_calls") for c in m["tool_calls"]]
    assert [m["tool_call_id"] for m in tool_msgs] == calls and len(calls) == 3


def test_the_tool_call_limit_ends_the_loop(problems, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_LLM_KEY", "k")
    with FakeLLMServer(tool_rounds=10) as llm:
        cfg = make_config(*llm_overrides(llm.url, tmp_path / "run", "generation.epochs=1",
                                         "generation.use_python=true", "generation.tools.max_calls=2"))
        generate(cfg, problems[:1], tmp_path / "run")
    rec = latest_records(RunFolder(tmp_path / "run"))[("Challenge_1_main", 0)]
    assert rec.status == "ok" and len(rec.tool_calls) == 2
    assert llm.requests[2].json()["tool_choice"] == "none"


def test_the_tool_time_budget_ends_the_loop(problems, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_LLM_KEY", "k")
    with FakeLLMServer(tool_rounds=10, tool_code="import time; time.sleep(0.4); print('done')") as llm:
        cfg = make_config(*llm_overrides(llm.url, tmp_path / "run", "generation.epochs=1",
                                         "generation.use_python=true", "generation.tools.max_seconds=0.6"))
        generate(cfg, problems[:1], tmp_path / "run")
    rec = latest_records(RunFolder(tmp_path / "run"))[("Challenge_1_main", 0)]
    assert rec.status == "ok" and 1 <= len(rec.tool_calls) <= 2


def test_a_model_that_ignores_the_limit_fails_the_item_instead_of_looping(problems, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_LLM_KEY", "k")
    with FakeLLMServer(tool_rounds=100, obey_tool_choice=False) as llm:
        cfg = make_config(*llm_overrides(llm.url, tmp_path / "run", "generation.epochs=1",
                                         "generation.use_python=true", "generation.tools.max_calls=1"))
        progress = generate(cfg, problems[:1], tmp_path / "run")
    assert progress.failed == 1 and len(llm.requests) < 10
    rec = latest_records(RunFolder(tmp_path / "run"))[("Challenge_1_main", 0)]
    assert "kept calling tools" in rec.error
    assert sum(1 for c in rec.tool_calls if not c.get("skipped")) == 1


def test_sandbox_time_out_inside_the_loop_is_reported_to_the_model(problems, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_LLM_KEY", "k")
    with FakeLLMServer(tool_code="while True: pass") as llm:
        cfg = make_config(*llm_overrides(llm.url, tmp_path / "run", "generation.epochs=1",
                                         "generation.use_python=true", "generation.tools.sandbox.timeout=1"))
        generate(cfg, problems[:1], tmp_path / "run")
    rec = latest_records(RunFolder(tmp_path / "run"))[("Challenge_1_main", 0)]
    assert rec.tool_calls[0]["timed_out"] and "time limit" in rec.messages[3]["content"]


def test_chat_reasoning_is_stored_but_not_sent_back(problems, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_LLM_KEY", "k")
    with FakeLLMServer() as llm:
        cfg = make_config(*llm_overrides(llm.url, tmp_path / "run", "generation.epochs=1",
                                         "model.reasoning_effort=high"))
        generate(cfg, problems[:1], tmp_path / "run")
    rec = latest_records(RunFolder(tmp_path / "run"))[("Challenge_1_main", 0)]
    assert rec.reasoning[0].startswith("Mock reasoning") and rec.usage.reasoning_tokens == 24
    assert rec.messages[2]["reasoning"].startswith("Mock reasoning")
    parse_request = llm.requests[1].json()
    assert all(set(m) <= {"role", "content", "tool_calls", "tool_call_id", "name"} for m in parse_request["messages"])


@pytest.mark.parametrize("keep", [True, False])
def test_responses_api_tool_loop_reasoning_and_web_search(problems, tmp_path, monkeypatch, keep):
    monkeypatch.setenv("FAKE_LLM_KEY", "k")
    with FakeLLMServer(tool_rounds=2) as llm:
        cfg = make_config(*llm_overrides(llm.url, tmp_path / "run", "generation.epochs=1", "model.api=responses",
                                         "model.reasoning_effort=high", "model.reasoning_summary=auto",
                                         "model.max_output_tokens=4096", "generation.use_python=true",
                                         "generation.use_web_search=true", f"generation.keep_reasoning={keep}"))
        generate(cfg, problems[:1], tmp_path / "run")
    assert all(r.path == "/v1/responses" for r in llm.requests) and len(llm.requests) == 4
    first = llm.requests[0].json()
    assert first["reasoning"] == {"effort": "high", "summary": "auto"} and first["store"] is False
    assert first["include"] == ["reasoning.encrypted_content"] and first["max_output_tokens"] == 4096
    assert {"type": "web_search"} in first["tools"]
    assert any(t.get("name") == "python" and t["type"] == "function" for t in first["tools"])
    rec = latest_records(RunFolder(tmp_path / "run"))[("Challenge_1_main", 0)]
    assert rec.status == "ok" and len(rec.tool_calls) == 2 and rec.web_searches == 1
    assert rec.reasoning[0] == "Mock reasoning summary." and rec.usage.reasoning_tokens == 80
    second = llm.requests[1].json()["input"]
    outputs = [i for i in second if i.get("type") == "function_call_output"]
    calls = [i for i in second if i.get("type") == "function_call"]
    assert outputs[0]["call_id"] == calls[0]["call_id"] and outputs[0]["output"].strip() == "42"
    parse_turn = llm.requests[3].json()["input"]
    replayed = [i for i in parse_turn if i.get("type") == "reasoning"]
    assert bool(replayed) is keep
    if keep:
        assert replayed[0]["encrypted_content"] == "opaque" and "status" not in replayed[0]


def test_web_search_through_openrouter_uses_the_web_plugin(problems, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_LLM_KEY", "k")
    with FakeLLMServer() as llm:
        cfg = make_config(*llm_overrides(llm.url, tmp_path / "run", "generation.epochs=1",
                                         "generation.use_web_search=true", "model.web_search=openrouter"))
        generate(cfg, problems[:1], tmp_path / "run")
    assert llm.requests[0].json()["plugins"] == [{"id": "web"}]


def test_a_model_that_cannot_search_is_a_clear_config_error():
    with pytest.raises(ConfigError, match="no built-in web search"):
        make_config("model=deepseek", "generation.use_web_search=true")


def test_reasoning_budgets_take_each_providers_form():
    cfg = make_config("model=openrouter", "model.reasoning_tokens=27000", "model.reasoning_budget_style=openrouter")
    assert reasoning_budget(cfg.model) == {"reasoning": {"max_tokens": 27000}}
    cfg.model.reasoning_budget_style = "anthropic"
    assert reasoning_budget(cfg.model) == {"thinking": {"type": "enabled", "budget_tokens": 27000}}
    cfg.model.reasoning_budget_style = "gemini"
    body = OpenAIChatModel(cfg.model, retry_policy(cfg.generation), "k").request_body([{"role": "user", "content": "q"}])
    assert body["extra_body"]["google"]["thinking_config"]["thinking_budget"] == 27000
    cfg.model.reasoning_budget_style = None
    with pytest.raises(ConfigError, match="reasoning_budget_style"):
        validate(cfg)


def test_protocol_flags_reach_the_batch(public_dir, tmp_path):
    from critpt_harness.commands.generate import cmd_generate

    cfg = make_config(f"dataset.path={public_dir}", f"run_dir={tmp_path / 'run'}", "generation.epochs=1",
                      "generation.use_python=true", "generation.use_web_search=true", "generation.progress=false",
                      "evaluator.messages=full")
    run_folder = RunFolder(cfg.run_dir)
    cmd_generate(cfg, run_folder, echo=lambda s: None)
    cmd_assemble(cfg, run_folder, echo=lambda s: None)
    flags = read_json(run_folder.batch_file(0))["submissions"][0]["generation_config"]
    assert flags == {"use_golden_for_prev_steps": False, "parsing": False, "multiturn_with_answer": False,
                     "use_python": True, "use_web_search": True}
    assert "web search" in read_json(run_folder.batch_file(0))["submissions"][0]["messages"][0]["content"]

