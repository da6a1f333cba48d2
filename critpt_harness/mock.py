"""The built-in offline model (``model=mock``): deterministic, no network, no key.

It reads the prompt like a real model would: asked for the code template, it
returns the template with every placeholder filled; otherwise it writes a
short derivation ending in "Final Answer:". The pipeline and the tests run on
it end to end.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from typing import Any, Dict, List, Optional

from .contracts import Usage
from .llm import ChatResult

_TEMPLATE = re.compile(r"```python\n(.*?)\n```", re.DOTALL)
_LIST_PLACEHOLDER = re.compile(r"\[\s*\.\.\.\s*\]")
_ASSIGN_PLACEHOLDER = re.compile(r"^(\s*[\w, ]+?\s*=\s*)\.\.\.", re.MULTILINE)


def fill_template(template: str, value: str = "0") -> str:
    """The template with each ``X = ...`` set to ``value`` and ``[...]`` to ``[value]``."""
    filled = _LIST_PLACEHOLDER.sub(f"[{value}]", template)
    return _ASSIGN_PLACEHOLDER.sub(lambda m: m.group(1) + value, filled)


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)


def mock_reply(messages: List[Dict[str, Any]]) -> str:
    """What the mock model says to a conversation (shared with the fake LLM server)."""
    last_user = next((m for m in reversed(messages) if m.get("role") == "user"), {})
    content = str(last_user.get("content", ""))
    template = _TEMPLATE.search(content)
    digest = hashlib.sha256(content.encode()).hexdigest()[:8]
    derivation = (
        f"Working (mock model, prompt {digest}): the quantities are defined in the problem; "
        "combining them as described gives the result below.\n\nFinal Answer: 0"
    )
    if template is None:
        return derivation
    code = fill_template(template.group(1))
    prefix = derivation + "\n\n" if len(messages) <= 2 else "Here is the filled template.\n\n"
    return f"{prefix}```python\n{code}\n```"


class MockModel:
    def __init__(self, name: str = "mock"):
        self.name = name

    async def chat(self, messages: List[Dict[str, Any]]) -> ChatResult:
        await asyncio.sleep(0)
        reply = mock_reply(messages)
        prompt = sum(_tokens(str(m.get("content", ""))) for m in messages)
        completion = _tokens(reply)
        usage = Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion)
        return ChatResult(content=reply, reasoning=None, usage=usage, latency_s=0.0, attempts=1,
                          finish_reason="stop")

    async def aclose(self) -> None:
        return None


def mock_chat_completion(body: Dict[str, Any], reply: Optional[str] = None) -> Dict[str, Any]:
    """A Chat Completions response body for ``body`` (used by the fake server)."""
    messages = body.get("messages", [])
    text = mock_reply(messages) if reply is None else reply
    prompt = sum(_tokens(str(m.get("content", ""))) for m in messages)
    completion = _tokens(text)
    return {
        "id": "chatcmpl-mock",
        "object": "chat.completion",
        "created": 0,
        "model": body.get("model", "mock"),
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                  "total_tokens": prompt + completion},
    }
