"""Chat models: the OpenAI-compatible Chat Completions client (openai SDK), the
Responses API client (responses_api.py), the offline mock (mock.py), and the
registry that picks one from ``model.provider`` / ``model.api``.

Messages are kept in Chat Completions form everywhere (records included); an
assistant message may also carry ``reasoning`` (text, never sent back over
Chat Completions) and ``provider_items`` (Responses API output items, replayed
to that API).

The openai SDK (~0.5 s to import) is imported only when a model client is built,
so commands that call no model (resuming a finished run, report) do not pay for it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Protocol

from .config import GenerationConfig, ModelConfig, keyless, web_search_mode
from .contracts import Usage
from .http import RetryPolicy
from .secrets import require_key

OnRetry = Callable[[int, BaseException, float], None]
# Keys of a chat message that Chat Completions servers accept.
_WIRE_KEYS = ("role", "content", "tool_calls", "tool_call_id", "name")


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


class ChatModel(Protocol):
    name: str

    async def chat(self, messages: List[Dict[str, Any]], tools: Optional[List[Dict[str, Any]]] = None,
                   tool_choice: str = "auto", web_search: bool = False) -> ChatResult: ...

    async def aclose(self) -> None: ...


def retry_policy(gen: GenerationConfig) -> RetryPolicy:
    import httpx
    import openai

    # The SDK wraps dropped connections and timeouts in APIConnectionError.
    return RetryPolicy.from_config(
        gen.retry, transient=(openai.APIConnectionError, httpx.TransportError, ConnectionError, TimeoutError))


def reasoning_budget(cfg: ModelConfig) -> Dict[str, Any]:
    """Body fields for a reasoning-token budget, in the provider's own form."""
    if cfg.reasoning_tokens is None:
        return {}
    n = cfg.reasoning_tokens
    if cfg.reasoning_budget_style == "openrouter":
        return {"reasoning": {"max_tokens": n}}
    if cfg.reasoning_budget_style == "anthropic":
        return {"thinking": {"type": "enabled", "budget_tokens": n}}
    if cfg.reasoning_budget_style == "gemini":  # Google's OpenAI-compatible endpoint nests it so
        return {"extra_body": {"google": {"thinking_config": {"thinking_budget": n, "include_thoughts": True}}}}
    return {}


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


def _reasoning_text(message: Any) -> Optional[str]:
    # Providers disagree on the field: DeepSeek/vLLM use reasoning_content, OpenRouter reasoning.
    for attr in ("reasoning_content", "reasoning"):
        value = getattr(message, attr, None)
        if value is None and getattr(message, "model_extra", None):
            value = message.model_extra.get(attr)
        if isinstance(value, str) and value:
            return value
    return None


def wire_message(msg: Dict[str, Any]) -> Dict[str, Any]:
    """A message as Chat Completions servers take it: reasoning and provider items dropped."""
    return {k: v for k, v in msg.items() if k in _WIRE_KEYS}


# What the SDK is given for a keyless local server (it insists on some string); never sent.
NO_KEY = "EMPTY"


class OpenAIModelBase:
    """What both OpenAI APIs share: the SDK client (its retries off: ours run,
    honouring Retry-After), the sampling fields, and the timed POST."""

    def __init__(self, cfg: ModelConfig, policy: RetryPolicy, api_key: str, on_retry: Optional[OnRetry] = None):
        import openai

        self.cfg = cfg
        self.name = cfg.name
        self.policy = policy
        self.on_retry = on_retry
        self.client = openai.AsyncOpenAI(api_key=api_key, base_url=cfg.base_url, timeout=cfg.request_timeout,
                                         max_retries=0, default_headers=dict(cfg.extra_headers) or None)
        # A keyless local server: the placeholder key is never sent (the SDK's per-request Omit
        # drops the Authorization header it would build from it).
        self.request_options: Dict[str, Any] = {"headers": {"Authorization": openai.Omit()}} if keyless(cfg) else {}

    def sampling(self) -> Dict[str, Any]:
        c = self.cfg
        return {k: v for k, v in (("temperature", c.temperature), ("top_p", c.top_p)) if v is not None}

    def provider_fields(self) -> Dict[str, Any]:
        """The reasoning budget, then extra_body (as the SDK's extra_body would add it)."""
        return {**reasoning_budget(self.cfg), **self.cfg.extra_body}

    async def post(self, path: str, cast_to: Any, body: Dict[str, Any]) -> tuple[Any, int, float]:
        """POST with the retry policy; returns (parsed reply, attempts, seconds).
        client.post (the SDK's documented route for raw requests) skips the SDK's
        per-request TypedDict transform of the messages, which costs ~3 ms a call
        and dominated the client's CPU at high concurrency."""
        start = time.perf_counter()
        response, attempts = await self.policy.call(
            # options is the SDK's RequestOptions TypedDict (here: headers to omit); mypy sees a plain dict
            lambda: self.client.post(path, cast_to=cast_to, body=body,
                                     options=self.request_options),  # type: ignore[call-overload]
            on_retry=self.on_retry)
        return response, attempts, time.perf_counter() - start

    async def aclose(self) -> None:
        await self.client.close()


class OpenAIChatModel(OpenAIModelBase):
    """Chat Completions against any ``base_url``."""

    def request_body(self, messages: List[Dict[str, Any]], tools: Optional[List[Dict[str, Any]]] = None,
                     tool_choice: str = "auto", web_search: bool = False) -> Dict[str, Any]:
        c = self.cfg
        body: Dict[str, Any] = {"model": c.name, "messages": [wire_message(m) for m in messages],
                                **self.sampling()}
        if c.max_output_tokens is not None:
            body[c.max_tokens_param] = c.max_output_tokens
        if c.reasoning_effort is not None:
            body["reasoning_effort"] = c.reasoning_effort
        if tools:
            body["tools"] = [{"type": "function", "function": t} for t in tools]
            body["tool_choice"] = tool_choice
        if web_search and web_search_mode(c) == "openrouter":
            body["plugins"] = [{"id": "web"}]
        body.update(self.provider_fields())
        return body

    async def chat(self, messages: List[Dict[str, Any]], tools: Optional[List[Dict[str, Any]]] = None,
                   tool_choice: str = "auto", web_search: bool = False) -> ChatResult:
        from openai.types.chat import ChatCompletion

        body = self.request_body(messages, tools, tool_choice, web_search)
        response, attempts, latency = await self.post("/chat/completions", ChatCompletion, body)
        if not response.choices:
            raise EmptyReply(f"{self.name} returned no choices")
        choice = response.choices[0]
        calls = [ToolCall(id=tc.id, name=tc.function.name, arguments=tc.function.arguments or "")
                 for tc in (choice.message.tool_calls or []) if getattr(tc, "function", None)]
        return ChatResult(content=choice.message.content or "", reasoning=_reasoning_text(choice.message),
                          usage=usage_from(response.usage), latency_s=latency, attempts=attempts,
                          finish_reason=choice.finish_reason, tool_calls=calls)


class EmptyReply(Exception):
    """The provider answered 200 with nothing in it."""


def build_model(cfg: ModelConfig, gen: GenerationConfig, on_retry: Optional[OnRetry] = None) -> ChatModel:
    if cfg.provider == "mock":
        from .mock import MockModel

        return MockModel(cfg.name)
    api_key = NO_KEY if keyless(cfg) else require_key(cfg.api_key_env, "model.api_key_env")
    if cfg.api == "responses":
        from .responses_api import OpenAIResponsesModel

        return OpenAIResponsesModel(cfg, retry_policy(gen), api_key, on_retry, keep_reasoning=gen.keep_reasoning)
    return OpenAIChatModel(cfg, retry_policy(gen), api_key, on_retry)
