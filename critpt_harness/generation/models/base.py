"""What every model provider returns and raises; imports no provider."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Protocol

from ...contracts import Usage

# Called before a retry: (attempt, the failure, seconds until the next try).
OnRetry = Callable[[int, BaseException, float], None]


@dataclass
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text, as the model wrote it


@dataclass
class ChatResult:
    content: str
    reasoning: Optional[str]
    usage: Usage
    latency_s: float
    attempts: int
    finish_reason: Optional[str] = None
    tool_calls: List[ToolCall] = field(default_factory=list)
    web_searches: int = 0
    # Extra fields for the assistant message (e.g. provider_items), beyond content/tool_calls.
    extra: Dict[str, Any] = field(default_factory=dict)

    def message(self) -> Dict[str, Any]:
        """The assistant message to append to the conversation (and the record)."""
        msg: Dict[str, Any] = {"role": "assistant", "content": self.content}
        if self.tool_calls:
            msg["tool_calls"] = [{"id": c.id, "type": "function",
                                  "function": {"name": c.name, "arguments": c.arguments}} for c in self.tool_calls]
        if self.reasoning:
            msg["reasoning"] = self.reasoning
        msg.update(self.extra)
        return msg


class CallTooLong(Exception):
    """No complete reply within model.request_timeout, after model.max_timeout_retries more tries."""

    def __init__(self, message: str, partial: str = ""):
        super().__init__(message)
        self.partial = partial  # what the last try received; kept in the record


class ChatModel(Protocol):
    name: str

    async def chat(self, messages: List[Dict[str, Any]], tools: Optional[List[Dict[str, Any]]] = None,
                   tool_choice: str = "auto", web_search: bool = False) -> ChatResult: ...

    async def aclose(self) -> None: ...


class EmptyReply(Exception):
    """The provider answered 200 with nothing in it."""


def usage_from(raw: Any) -> Usage:
    """Token usage from a Chat Completions or Responses API reply (object or dict)."""
    if raw is None:
        return Usage()
    get = raw.get if isinstance(raw, dict) else lambda k, d=None: getattr(raw, k, d)
    prompt = get("prompt_tokens") or get("input_tokens") or 0
    completion = get("completion_tokens") or get("output_tokens") or 0
    details = get("completion_tokens_details") or get("output_tokens_details")
    if isinstance(details, dict):
        reasoning = details.get("reasoning_tokens") or 0
    else:
        reasoning = getattr(details, "reasoning_tokens", 0) or 0
    total = get("total_tokens") or prompt + completion
    return Usage(prompt_tokens=prompt, completion_tokens=completion, reasoning_tokens=reasoning, total_tokens=total)
