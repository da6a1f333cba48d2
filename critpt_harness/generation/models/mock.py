"""The built-in offline model (``model=mock``): deterministic, no network, no key.

It reads the prompt like a real model would: asked for the code template, it
returns the template with every placeholder filled; otherwise it writes a
short derivation ending in "Final Answer:". The pipeline and the tests run on
it end to end.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from typing import Any, Dict, List, Optional

from ...contracts import Usage
from ...config import GenerationConfig, ModelConfig
from .base import ChatResult, OnRetry, ToolCall

_TEMPLATE = re.compile(r"```python\n(.*?)\n```", re.DOTALL)
_LIST_PLACEHOLDER = re.compile(r"\[\s*\.\.\.\s*\]")
_ASSIGN_PLACEHOLDER = re.compile(r"^(\s*[\w, ]+?\s*=\s*)\.\.\.", re.MULTILINE)


def fill_template(template: str, value: str = "0") -> str:
    """The template with each ``X = ...`` set to ``value`` and ``[...]`` to ``[value]``."""
    filled = _LIST_PLACEHOLDER.sub(f"[{value}]", template)
    return _ASSIGN_PLACEHOLDER.sub(lambda m: m.group(1) + value, filled)


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)


MOCK_TOOL_CODE = "print(6 * 7)"


def wants_tool(messages: List[Dict[str, Any]], tools_offered: bool) -> bool:
    """The mock calls the python tool once, in the first turn, before answering."""
    if not tools_offered or sum(1 for m in messages if m.get("role") == "user") > 1:
        return False
    return not any(m.get("role") == "tool" for m in messages)


def mock_reply(messages: List[Dict[str, Any]]) -> str:
    """What the mock model says to a conversation (shared with the fake LLM server)."""
    last_user: Dict[str, Any] = next((m for m in reversed(messages) if m.get("role") == "user"), {})
    content = str(last_user.get("content", ""))
    template = _TEMPLATE.search(content)
    digest = hashlib.sha256(content.encode()).hexdigest()[:8]
    tool_output = next((str(m.get("content", "")).strip() for m in reversed(messages) if m.get("role") == "tool"), None)
    checked = f" The python tool printed {tool_output}." if tool_output else ""
    derivation = (
        f"Working (mock model, prompt {digest}): the quantities are defined in the problem; "
        f"combining them as described gives the result below.{checked}\n\nFinal Answer: 0"
    )
    if template is None:
        return derivation
    code = fill_template(template.group(1))
    first_turn = sum(1 for m in messages if m.get("role") == "user") == 1
    prefix = derivation + "\n\n" if first_turn else "Here is the filled template.\n\n"
    return f"{prefix}```python\n{code}\n```"


class MockModel:
    def __init__(self, name: str = "mock"):
        self.name = name
        self._calls = 0

    async def chat(self, messages: List[Dict[str, Any]], tools: Optional[List[Dict[str, Any]]] = None,
                   tool_choice: str = "auto", web_search: bool = False) -> ChatResult:
        await asyncio.sleep(0)
        prompt = sum(_tokens(str(m.get("content", ""))) for m in messages)
        if wants_tool(messages, bool(tools) and tool_choice != "none"):
            self._calls += 1
            call = ToolCall(id=f"call_mock_{self._calls}", name="python",
                            arguments=json.dumps({"code": MOCK_TOOL_CODE}))
            usage = Usage(prompt_tokens=prompt, completion_tokens=10, total_tokens=prompt + 10)
            return ChatResult(content="", reasoning=None, usage=usage, latency_s=0.0, attempts=1,
                              finish_reason="tool_calls", tool_calls=[call])
        reply = mock_reply(messages)
        completion = _tokens(reply)
        usage = Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion)
        return ChatResult(content=reply, reasoning=None, usage=usage, latency_s=0.0, attempts=1,
                          finish_reason="stop")

    async def aclose(self) -> None:
        return None


def build(cfg: ModelConfig, gen: GenerationConfig, on_retry: Optional[OnRetry] = None) -> MockModel:
    """The mock provider: offline, deterministic, no key."""
    return MockModel(cfg.name)
