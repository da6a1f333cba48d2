"""The OpenAI Responses API, for reasoning models, function tools and the
built-in web search.

Requests are stateless (``store: false``): each call sends the whole
conversation. Reasoning items come back encrypted and, with
``generation.keep_reasoning`` (the official protocol's choice), are replayed in
later calls so the model keeps its own reasoning across the tool loop and the
parse turn. Their readable summary is stored in the record.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any, Dict, List, Optional

import openai
from openai.types.responses import Response, ResponseStreamEvent

from ...config import ModelConfig, web_search_mode
from ...retry import RetryPolicy
from .base import ChatResult, EmptyReply, OnRetry, ToolCall, usage_from
from .openai_base import OpenAIModelBase


def to_input(messages: List[Dict[str, Any]], keep_reasoning: bool) -> List[Dict[str, Any]]:
    """Chat-form messages as Responses API input items."""
    items: List[Dict[str, Any]] = []
    for msg in messages:
        role = msg.get("role")
        if role == "tool":
            items.append({"type": "function_call_output", "call_id": msg["tool_call_id"],
                          "output": str(msg.get("content", ""))})
        elif role == "assistant" and msg.get("provider_items"):
            items.extend(i for i in msg["provider_items"] if keep_reasoning or i.get("type") != "reasoning")
        elif role == "assistant":
            if msg.get("content"):
                items.append({"role": "assistant", "content": msg["content"]})
            for call in msg.get("tool_calls") or []:
                items.append({"type": "function_call", "call_id": call["id"], "name": call["function"]["name"],
                              "arguments": call["function"]["arguments"]})
        else:
            items.append({"role": role, "content": msg.get("content", "")})
    return items


def _replayable(item: Dict[str, Any]) -> Dict[str, Any]:
    """An output item as it may be sent back as input (server-only fields dropped)."""
    if item.get("type") == "reasoning":
        return {k: item[k] for k in ("type", "id", "summary", "encrypted_content") if k in item}
    return {k: v for k, v in item.items() if k != "status"}


class OpenAIResponsesModel(OpenAIModelBase):
    def __init__(self, cfg: ModelConfig, policy: RetryPolicy, api_key: str, on_retry: Optional[OnRetry] = None,
                 keep_reasoning: bool = True):
        super().__init__(cfg, policy, api_key, on_retry)
        self.keep_reasoning = keep_reasoning

    PATH, CAP_FIELD = "/responses", "max_output_tokens"

    def reply_type(self) -> Any:
        return Response

    def request_body(self, messages: List[Dict[str, Any]], tools: Optional[List[Dict[str, Any]]] = None,
                     tool_choice: str = "auto", web_search: bool = False) -> Dict[str, Any]:
        c = self.cfg
        body: Dict[str, Any] = {"model": c.name, "input": to_input(messages, self.keep_reasoning), "store": False,
                                **self.sampling()}
        if c.max_output_tokens is not None:
            body["max_output_tokens"] = c.max_output_tokens
        reasoning: Dict[str, Any] = {}
        if c.reasoning_effort is not None:
            reasoning["effort"] = c.reasoning_effort
        if c.reasoning_summary is not None:
            reasoning["summary"] = c.reasoning_summary
        if reasoning:
            body["reasoning"] = reasoning
            # Stateless requests can replay reasoning only in its encrypted form.
            body["include"] = ["reasoning.encrypted_content"]
        specs: List[Dict[str, Any]] = [{"type": "function", **t} for t in tools or []]
        if web_search and web_search_mode(c) == "responses":
            specs.append({"type": "web_search"})
        if specs:
            body["tools"] = specs
            body["tool_choice"] = tool_choice
        body.update(self.provider_fields())
        return body

    async def chat(self, messages: List[Dict[str, Any]], tools: Optional[List[Dict[str, Any]]] = None,
                   tool_choice: str = "auto", web_search: bool = False) -> ChatResult:
        body = self.request_body(messages, tools, tool_choice, web_search)
        start = time.perf_counter()
        if self.cfg.background:
            # Stored server-side and polled: a dropped connection loses nothing and is not paid twice.
            body.update(background=True, store=True)

            async def polled(received: List[str]) -> tuple[Any, int]:
                return await self._background(body)

            response, attempts = await self.within_limit(polled)
        elif self.streaming:
            body["stream"] = True

            async def streamed(received: List[str]) -> tuple[Any, int]:
                return await self.policy.call(lambda: self._stream(body, received), on_retry=self.on_retry)

            response, attempts = await self.within_limit(streamed)
        else:
            async def plain(received: List[str]) -> tuple[Any, int]:
                reply, n, _ = await self.post("/responses", Response, body)
                return reply, n

            response, attempts = await self.within_limit(plain)
        return self._result(response, attempts, time.perf_counter() - start)

    async def _stream(self, body: Dict[str, Any], received: List[str]) -> Any:
        """One streamed attempt: deltas counted as they come, the final response object kept."""
        received.clear()
        stream = await self.client.post(  # type: ignore[call-overload]  # options: the SDK's RequestOptions
            "/responses", cast_to=Response, body=body, options=self.request_options, stream=True,
            stream_cls=openai.AsyncStream[ResponseStreamEvent])
        final = None
        async for event in stream:
            kind = getattr(event, "type", "")
            if kind.endswith(".delta"):
                delta = getattr(event, "delta", None)
                self.streamed(delta if isinstance(delta, str) else None, received)
            elif kind in ("response.completed", "response.incomplete", "response.failed"):
                final = event.response  # type: ignore[union-attr]  # these events carry the response
        if final is None:
            raise EmptyReply(f"{self.name}: the stream ended without a final response")
        return final

    async def _background(self, body: Dict[str, Any]) -> tuple[Any, int]:
        """Submit in background mode, then poll until the response is done; cancelled on the total limit."""
        reply, attempts, _ = await self.post("/responses", Response, body)
        rid, wait = reply.id, 1.0
        try:
            while reply.status in ("queued", "in_progress"):
                await asyncio.sleep(wait)
                wait = min(wait * 1.5, 15.0)
                reply, _ = await self.policy.call(lambda: self.client.get(  # type: ignore[call-overload]
                    f"/responses/{rid}", cast_to=Response, options=self.request_options), on_retry=self.on_retry)
        except asyncio.CancelledError:  # the total limit: stop paying for it
            try:
                await asyncio.wait_for(self.client.post(  # type: ignore[call-overload]
                    f"/responses/{rid}/cancel", cast_to=Response, options=self.request_options), 10)
            except Exception:  # best effort; the record says the call ran out of time
                pass
            raise
        return reply, attempts

    def _result(self, response: Any, attempts: int, latency: float) -> ChatResult:
        data = response.model_dump(mode="json", exclude_none=True) if hasattr(response, "model_dump") else response
        if data.get("error"):
            raise EmptyReply(f"{self.name}: {json.dumps(data['error'])[:300]}")
        texts, summaries, calls, searches, items = [], [], [], 0, []
        for item in data.get("output") or []:
            kind = item.get("type")
            if kind == "message":
                texts += [p.get("text", "") for p in item.get("content") or [] if p.get("type") == "output_text"]
            elif kind == "reasoning":
                summaries += [s.get("text", "") for s in item.get("summary") or []]
            elif kind == "function_call":
                calls.append(ToolCall(id=item.get("call_id") or item.get("id", ""), name=item.get("name", ""),
                                      arguments=item.get("arguments") or ""))
            elif kind == "web_search_call":
                searches += 1
            items.append(_replayable(item))
        incomplete = (data.get("incomplete_details") or {}).get("reason")
        return ChatResult(content="".join(texts), reasoning="\n\n".join(s for s in summaries if s) or None,
                          usage=usage_from(data.get("usage")), latency_s=latency, attempts=attempts,
                          finish_reason=incomplete or data.get("status"), tool_calls=calls, web_searches=searches,
                          extra={"provider_items": items})

