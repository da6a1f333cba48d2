"""Every shipped experiment, built offline: the request body it would send is compared
with a reviewed body, so a change to a published setting shows in review; and a
thinking budget outside the provider's documented range is refused."""

from __future__ import annotations

import pytest

from critpt_harness.errors import ConfigError
from critpt_harness.generation.models.registry import build_model
from critpt_harness.tools.calls import tool_specs

from .conftest import REPO, make_config

MESSAGES = [{"role": "system", "content": "S"}, {"role": "user", "content": "Q"}]
CHAT = {"messages": MESSAGES}
RESPONSES = {"include": ["reasoning.encrypted_content"], "input": MESSAGES, "store": False}
GPT5 = {**RESPONSES, "model": "gpt-5", "reasoning": {"effort": "high", "summary": "auto"}}

# experiment: (API class, streamed, body) -- reviewed against the official README's commands.
EXPECTED = {
    "claude_opus4": ("OpenAIChatModel", True, {**CHAT, "model": "claude-opus-4-20250514", "max_tokens": 32000,
                                               "thinking": {"type": "enabled", "budget_tokens": 27000}}),
    "deepseek_r1": ("OpenAIChatModel", True, {**CHAT, "model": "deepseek-reasoner"}),
    "gemini25_flash": ("OpenAIChatModel", False, {**CHAT, "model": "gemini-2.5-flash"}),  # no thinking budget
    "gemini25_pro": ("OpenAIChatModel", True, {**CHAT, "model": "gemini-2.5-pro", "extra_body": {"google": {
        "thinking_config": {"thinking_budget": 27000, "include_thoughts": True}}}}),
    "gpt4o": ("OpenAIChatModel", False, {**CHAT, "model": "gpt-4o"}),
    "gpt5_high": ("OpenAIResponsesModel", True, GPT5),
    "gpt5_high_code": ("OpenAIResponsesModel", True, {**GPT5, "tool_choice": "auto", "tools": ["python", "bash"]}),
    "gpt5_high_code_web": ("OpenAIResponsesModel", True, {**GPT5, "tool_choice": "auto",
                                                          "tools": ["python", "bash", "web_search"]}),
    "gpt5_minimal": ("OpenAIResponsesModel", True, {**RESPONSES, "model": "gpt-5", "reasoning": {"effort": "minimal"}}),
    "llama4_maverick": ("OpenAIChatModel", False, {**CHAT, "model": "meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8",
                                                   "max_tokens": 2048}),
    "o3_high": ("OpenAIResponsesModel", True, {**GPT5, "model": "o3"}),
    "o4mini_high": ("OpenAIResponsesModel", True, {**GPT5, "model": "o4-mini"}),
}


def test_every_shipped_experiment_has_a_reviewed_body():
    shipped = {p.stem for p in (REPO / "configs" / "experiment").glob("*.yaml")} - {"smoke"}
    assert shipped == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_request_body_is_the_reviewed_one(name, monkeypatch):
    for var in ("OPENAI_API_KEY", "GOOGLE_API_KEY", "ANTHROPIC_API_KEY", "TOGETHER_API_KEY", "DEEPSEEK_API_KEY"):
        monkeypatch.setenv(var, "k")
    cfg = make_config(f"experiment={name}")
    model = build_model(cfg.model, cfg.generation)
    body = model.request_body(MESSAGES, tool_specs(cfg.generation.use_python, cfg.generation.tools.bash),  # type: ignore[attr-defined]
                              "auto",
                              cfg.generation.use_web_search)
    if "tools" in body:  # the tool specs themselves are tested with the tools
        body["tools"] = [t.get("name") or t.get("function", {}).get("name") or t["type"] for t in body["tools"]]
    cls, streamed, expected = EXPECTED[name]
    assert (type(model).__name__, model.streaming, body) == (cls, streamed, expected)  # type: ignore[attr-defined]
    assert cfg.generation.epochs == 5
    if cfg.generation.use_python:  # the official solver's tool environment: 1800 s a call, no cap on calls
        t = cfg.generation.tools
        assert (t.max_calls, t.max_seconds, t.bash, t.sandbox.timeout, t.sandbox.cpu_seconds) == (None, None, True,
                                                                                                  1800, 1800)


@pytest.mark.parametrize("overrides, message", [
    (("model=gemini", "model.name=gemini-2.5-flash", "model.reasoning_tokens=27000"), "0-24576"),
    (("model=gemini", "model.name=gemini-2.5-pro", "model.reasoning_tokens=64"), "128-32768"),
    (("model=anthropic", "model.reasoning_tokens=512"), "at least 1024"),
    (("model=anthropic", "model.reasoning_tokens=32000"), "below model.max_output_tokens=32000"),
])
def test_a_thinking_budget_outside_the_documented_range_is_refused(overrides, message):
    with pytest.raises(ConfigError, match=f"model.reasoning_tokens=.*{message}"):
        make_config(*overrides)


def test_budgets_inside_the_range_are_accepted():
    assert make_config("model=gemini", "model.name=gemini-2.5-flash", "model.reasoning_tokens=0").model.reasoning_tokens == 0
    assert make_config("model=anthropic", "model.reasoning_tokens=1024").model.reasoning_tokens == 1024
