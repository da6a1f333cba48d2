"""The "code" protocol's bash tool: same sandbox as python, its own argument name,
off with generation.tools.bash=false; and tool limits set to null mean no cap."""

from __future__ import annotations

import asyncio
import json

from critpt_harness.config import ToolsConfig
from critpt_harness.generation.models.base import ToolCall
from critpt_harness.config.sandbox import SandboxConfig
from critpt_harness.tools.calls import ToolBudget, execute, tool_specs


def run(name: str, arguments: dict, **tools) -> tuple:
    budget = ToolBudget(ToolsConfig(sandbox=SandboxConfig(timeout=30), **tools))
    return asyncio.run(execute(ToolCall(id="c1", name=name, arguments=json.dumps(arguments)), budget, 1))


def test_bash_runs_in_the_sandbox_and_is_recorded():
    output, entry = run("bash", {"cmd": "echo $((6 * 7)); pwd; ls ~ | wc -l; exit 3"})
    lines = output.splitlines()
    assert lines[0] == "42" and "[exit code 3]" in output
    assert entry["name"] == "bash" and entry["exit_code"] == 3 and entry["isolation"] in ("bwrap", "subprocess", "docker")


def test_bash_can_be_turned_off_and_bad_arguments_say_what_is_expected():
    output, _ = run("bash", {"cmd": "echo hi"}, bash=False)
    assert output.startswith("Unknown tool 'bash': the tools are `python`")
    output, _ = run("bash", {"code": "echo hi"})
    assert output == 'Invalid arguments: expected JSON {"cmd": "<bash script>"}.'
    assert [t["name"] for t in tool_specs(True)] == ["python", "bash"]
    assert [t["name"] for t in tool_specs(True, bash=False)] == ["python"] and tool_specs(False) is None


def test_null_limits_mean_no_cap():
    budget = ToolBudget(ToolsConfig(max_calls=None, max_seconds=None))
    budget.calls = 10_000
    budget.started -= 10_000_000
    assert not budget.exhausted()
    capped = ToolBudget(ToolsConfig(max_calls=2))
    capped.calls = 2
    assert capped.exhausted() and "2 tool calls" in capped.why()


def test_the_tool_loop_runs_a_bash_call_the_model_makes(public_dir, tmp_path, monkeypatch):
    from critpt_harness.generation.records import latest_records
    from critpt_harness.commands.generate import cmd_generate
    from critpt_harness.runs import RunFolder
    from tests.fakes.llm import FakeLLMServer

    from .conftest import llm_overrides, make_config

    monkeypatch.setenv("FAKE_LLM_KEY", "k")
    run = RunFolder(tmp_path / "run")
    for api in ("chat", "responses"):
        with FakeLLMServer(tool_name="bash", tool_code="echo $((40 + 2))") as llm:
            cfg = make_config(*llm_overrides(llm.url, run.path / api, f"dataset.path={public_dir}", "dataset.limit=1",
                                             "generation.epochs=1", "generation.use_python=true", f"model.api={api}"))
            cmd_generate(cfg, RunFolder(cfg.run_dir), echo=lambda _: None)
            offered = [t.get("name") or t["function"]["name"] for t in llm.requests[0].json()["tools"]]
        (rec,) = latest_records(RunFolder(cfg.run_dir)).values()
        assert offered == ["python", "bash"] and rec.status == "ok"
        assert rec.tool_calls[0]["name"] == "bash" and rec.tool_calls[0]["output"].strip() == "42"
