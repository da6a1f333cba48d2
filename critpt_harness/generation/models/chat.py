"""Chat Completions against any OpenAI-compatible ``base_url`` (the openai SDK), and the
`openai_compatible` provider's factory (Chat Completions or, with model.api=responses, the
Responses API).

Messages are kept in Chat Completions form everywhere (records included); an
assistant message may also carry ``reasoning`` (text, never sent back over
Chat Completions) and ``provider_items`` (Responses API output items, replayed
to that API).
"""

from __future__ import annotations

import time
from typing import Any, Dict, List, Optional

from ...config import GenerationConfig, ModelConfig, keyless, web_search_mode
from ...secrets import require_key
from .base import ChatModel, ChatResult, EmptyReply, OnRetry, ToolCall, usage_from
from .sse import events
from .openai_base import NO_KEY, OpenAIModelBase, _reasoning_text, retry_policy, wire_message


class OpenAIChatModel(OpenAIModelBase):
    """Chat Completions against any ``base_url``."""

    PATH = "/chat/completions"

    def reply_type(self) -> Any:
        from openai.types.chat import ChatCompletion

        return ChatCompletion

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
        body = self.request_body(messages, tools, tool_choice, web_search)
        if self.streaming:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
            start = time.perf_counter()

            async def streamed(received: List[str]) -> tuple[ChatResult, int]:
                return await self.policy.call(lambda: self._stream(body, received), on_retry=self.on_retry)

            result, attempts = await self.within_limit(streamed)
            result.latency_s, result.attempts = time.perf_counter() - start, attempts
            return result

        async def plain(received: List[str]) -> tuple[Any, int, float]:
            return await self.post("/chat/completions", object, body)  # object: the reply as parsed JSON

        response, attempts, latency = await self.within_limit(plain)
        choices = response.get("choices") if isinstance(response, dict) else None
        if not choices:
            raise EmptyReply(f"{self.name} returned no choices")
        choice = choices[0]
        message = choice.get("message") or {}
        calls = [ToolCall(id=tc.get("id") or "", name=tc["function"].get("name") or "",
                          arguments=tc["function"].get("arguments") or "")
                 for tc in (message.get("tool_calls") or []) if tc.get("function")]
        return ChatResult(content=message.get("content") or "", reasoning=_reasoning_text(message),
                          usage=usage_from(response.get("usage")), latency_s=latency, attempts=attempts,
                          finish_reason=choice.get("finish_reason"), tool_calls=calls)

    async def _stream(self, body: Dict[str, Any], received: List[str]) -> ChatResult:
        """One streamed attempt: text, reasoning, tool calls and usage gathered from the chunks."""
        import httpx

        received.clear()
        response = await self.client.post(  # type: ignore[call-overload]  # options: the SDK's RequestOptions
            "/chat/completions", cast_to=httpx.Response, body=body, options=self.request_options, stream=True)
        text: List[str] = []
        reasoning: List[str] = []
        calls: Dict[int, Dict[str, str]] = {}
        finish, usage, seen = None, None, False
        async for chunk in events(response):
            seen = True
            if not isinstance(chunk, dict):
                continue
            if chunk.get("usage"):
                usage = chunk["usage"]
            for choice in chunk.get("choices") or []:
                if choice.get("index", 0) != 0:
                    continue
                delta = choice.get("delta") or {}
                if delta.get("content"):
                    text.append(delta["content"])
                    self.streamed(delta["content"], received)
                thought = _reasoning_text(delta)
                if thought:
                    reasoning.append(thought)
                    self.streamed(thought, received)
                for tc in delta.get("tool_calls") or []:
                    slot = calls.setdefault(int(tc.get("index") or 0), {"id": "", "name": "", "arguments": ""})
                    slot["id"] = tc.get("id") or slot["id"]
                    function = tc.get("function") or {}
                    slot["name"] += function.get("name") or ""
                    slot["arguments"] += function.get("arguments") or ""
                    self.streamed(function.get("arguments"), received)
                finish = choice.get("finish_reason") or finish
        if not seen:
            raise EmptyReply(f"{self.name} streamed nothing")
        return ChatResult(content="".join(text), reasoning="".join(reasoning) or None, usage=usage_from(usage),
                          latency_s=0.0, attempts=1, finish_reason=finish,
                          tool_calls=[ToolCall(**calls[i]) for i in sorted(calls)])


def build(cfg: ModelConfig, gen: GenerationConfig, on_retry: Optional[OnRetry] = None) -> ChatModel:
    """The openai_compatible provider: model.api picks Chat Completions or the Responses API."""
    api_key = NO_KEY if keyless(cfg) else require_key(cfg.api_key_env, "model.api_key_env")
    if cfg.api == "responses":
        from .responses import OpenAIResponsesModel

        return OpenAIResponsesModel(cfg, retry_policy(gen), api_key, on_retry, keep_reasoning=gen.keep_reasoning)
    return OpenAIChatModel(cfg, retry_policy(gen), api_key, on_retry)
