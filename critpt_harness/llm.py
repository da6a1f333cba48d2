"""Chat models: the OpenAI-compatible client (openai SDK) and the registry
that picks it or the offline mock from ``model.provider``."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Protocol

import httpx
import openai
from openai.types.chat import ChatCompletion

from .config import GenerationConfig, ModelConfig
from .contracts import Usage
from .http import RetryPolicy
from .secrets import require_key


@dataclass
class ChatResult:
    content: str
    reasoning: Optional[str]
    usage: Usage
    latency_s: float
    attempts: int
    finish_reason: Optional[str] = None


class ChatModel(Protocol):
    name: str

    async def chat(self, messages: List[Dict[str, Any]]) -> ChatResult: ...

    async def aclose(self) -> None: ...


def retry_policy(gen: GenerationConfig) -> RetryPolicy:
    # The SDK wraps dropped connections and timeouts in APIConnectionError.
    return RetryPolicy.from_config(
        gen.retry, transient=(openai.APIConnectionError, httpx.TransportError, ConnectionError, TimeoutError))


def _usage(raw: Any) -> Usage:
    if raw is None:
        return Usage()
    details = getattr(raw, "completion_tokens_details", None)
    reasoning = getattr(details, "reasoning_tokens", None) or 0
    prompt = getattr(raw, "prompt_tokens", 0) or 0
    completion = getattr(raw, "completion_tokens", 0) or 0
    total = getattr(raw, "total_tokens", 0) or prompt + completion
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


class OpenAICompatibleModel:
    """Chat Completions against any ``base_url``; retries are ours, not the SDK's."""

    def __init__(self, cfg: ModelConfig, policy: RetryPolicy, api_key: str,
                 on_retry: Optional[Callable[[int, BaseException, float], None]] = None):
        self.cfg = cfg
        self.name = cfg.name
        self.policy = policy
        self.on_retry = on_retry
        self.client = openai.AsyncOpenAI(
            api_key=api_key,
            base_url=cfg.base_url,
            timeout=cfg.request_timeout,
            max_retries=0,
            default_headers=dict(cfg.extra_headers) or None,
        )

    def request_params(self, messages: List[Dict[str, Any]]) -> Dict[str, Any]:
        c = self.cfg
        params: Dict[str, Any] = {"model": c.name, "messages": messages}
        if c.temperature is not None:
            params["temperature"] = c.temperature
        if c.top_p is not None:
            params["top_p"] = c.top_p
        if c.max_output_tokens is not None:
            params[c.max_tokens_param] = c.max_output_tokens
        if c.reasoning_effort is not None:
            params["reasoning_effort"] = c.reasoning_effort
        # Provider-specific fields go into the body as they are (what the SDK's extra_body does).
        params.update(c.extra_body)
        return params

    async def chat(self, messages: List[Dict[str, Any]]) -> ChatResult:
        params = self.request_params(messages)
        start = time.perf_counter()
        # client.post (the SDK's documented route for raw requests) skips the SDK's
        # per-request TypedDict transform of the messages, which costs ~3 ms a call
        # and dominated the client's CPU at high concurrency.
        response, attempts = await self.policy.call(
            lambda: self.client.post("/chat/completions", cast_to=ChatCompletion, body=params),
            on_retry=self.on_retry,
        )
        latency = time.perf_counter() - start
        if not response.choices:
            raise EmptyReply(f"{self.name} returned no choices")
        choice = response.choices[0]
        return ChatResult(
            content=choice.message.content or "",
            reasoning=_reasoning_text(choice.message),
            usage=_usage(response.usage),
            latency_s=latency,
            attempts=attempts,
            finish_reason=choice.finish_reason,
        )

    async def aclose(self) -> None:
        await self.client.close()


class EmptyReply(Exception):
    """The provider answered 200 with nothing in it."""


def build_model(cfg: ModelConfig, gen: GenerationConfig,
                on_retry: Optional[Callable[[int, BaseException, float], None]] = None) -> ChatModel:
    if cfg.provider == "mock":
        from .mock import MockModel

        return MockModel(cfg.name)
    api_key = require_key(cfg.api_key_env, "model.api_key_env")
    return OpenAICompatibleModel(cfg, retry_policy(gen), api_key, on_retry)
