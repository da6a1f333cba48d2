"""The fake LLM's replies: the mock model's text, tool calls and reasoning as Chat
Completions and Responses API bodies, and both as the events a streaming server sends."""

from __future__ import annotations

import json
from typing import Any, Callable, Dict, List, Optional

from critpt_harness.generation.models.mock import mock_reply

from .base import Reply


class MockReplies:
    """Mixin of FakeLLMServer: builds its replies from the request body."""

    reply: Optional[Callable[[Dict[str, Any]], Optional[str]]]
    tool_code: str
    tool_rounds: int
    obey_tool_choice: bool
    tool_name: str
    latency: float
    _ids: int

    @staticmethod
    def _pieces(text: str, n: int = 8) -> List[str]:
        size = max(1, -(-len(text) // n))
        return [text[i:i + size] for i in range(0, len(text), size)]

    def _chat_events(self, reply: Dict[str, Any], body: Dict[str, Any]) -> Reply:
        """A chat completion as the chunks a streaming server sends."""
        head = {k: reply[k] for k in ("id", "created", "model")}

        def chunk(delta: Dict[str, Any], finish: Optional[str] = None) -> Dict[str, Any]:
            return {**head, "object": "chat.completion.chunk",
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

        message = reply["choices"][0]["message"]
        events: List[Any] = [chunk({"role": "assistant", "content": ""})]
        if message.get("reasoning_content"):
            events.append(chunk({"reasoning_content": message["reasoning_content"]}))
        for k, call in enumerate(message.get("tool_calls") or []):
            events.append(chunk({"tool_calls": [{"index": k, "id": call["id"], "type": "function",
                                                 "function": {"name": call["function"]["name"], "arguments": ""}}]}))
            events += [chunk({"tool_calls": [{"index": k, "function": {"arguments": part}}]})
                       for part in self._pieces(call["function"]["arguments"], 2)]
        events += [chunk({"content": part}) for part in self._pieces(message.get("content") or "")]
        events.append(chunk({}, reply["choices"][0]["finish_reason"]))
        if (body.get("stream_options") or {}).get("include_usage"):
            events.append({**head, "object": "chat.completion.chunk", "choices": [], "usage": reply["usage"]})
        # the latency spread over every frame, [DONE] included: the reply takes the fixed latency
        return Reply(events=events, pause=self.latency / (len(events) + 1))

    def _response_events(self, reply: Dict[str, Any]) -> Reply:
        """A Responses API reply as its stream of events, ending with response.completed."""
        events: List[Any] = [{"type": "response.created", "sequence_number": 0,
                              "response": {**reply, "status": "in_progress", "output": []}}]
        for index, item in enumerate(reply["output"]):
            for part in item.get("content") or []:
                for piece in self._pieces(part.get("text", "")):
                    events.append({"type": "response.output_text.delta", "item_id": item["id"], "output_index": index,
                                   "content_index": 0, "delta": piece, "logprobs": [],
                                   "sequence_number": len(events)})
        events.append({"type": "response.completed", "sequence_number": len(events), "response": reply})
        return Reply(events=events, pause=self.latency / len(events), done_marker=False)

    def _next_id(self, prefix: str) -> str:
        self._ids += 1
        return f"{prefix}_{self._ids}"

    def _tool_due(self, messages: List[Dict[str, Any]], offered: bool, choice: Any) -> bool:
        """Call the tool while rounds remain in the first turn (the parse turn answers at once)."""
        if not offered or (choice == "none" and self.obey_tool_choice):
            return False
        if sum(1 for m in messages if m.get("role") == "user") > 1:
            return False
        return sum(1 for m in messages if m.get("role") == "tool") < self.tool_rounds

    def _tool_args(self) -> Dict[str, str]:
        return {"cmd" if self.tool_name == "bash" else "code": self.tool_code}

    def _text(self, body: Dict[str, Any], messages: List[Dict[str, Any]]) -> str:
        custom = self.reply(body) if self.reply else None
        return custom if custom is not None else mock_reply(messages)

    def chat_completion(self, body: Dict[str, Any]) -> Dict[str, Any]:
        messages = body.get("messages", [])
        python = any(t.get("function", {}).get("name") == self.tool_name for t in body.get("tools") or [])
        prompt = sum(len(str(m.get("content", ""))) // 4 for m in messages)
        message: Dict[str, Any] = {"role": "assistant", "content": None}
        if self._tool_due(messages, python, body.get("tool_choice")):
            message["tool_calls"] = [{"id": self._next_id("call"), "type": "function", "function": {
                "name": self.tool_name, "arguments": json.dumps(self._tool_args())}}]
            finish = "tool_calls"
        else:
            message["content"] = self._text(body, messages)
            finish = "stop"
        reasoning = 0
        if body.get("reasoning_effort") or body.get("reasoning") or body.get("thinking"):
            message["reasoning_content"] = "Mock reasoning: consider the problem's symmetries first."
            reasoning = 12
        completion = len(message["content"] or "") // 4 + 10 + reasoning
        return {"id": self._next_id("chatcmpl"), "object": "chat.completion", "created": 0,
                "model": body.get("model", "mock"),
                "choices": [{"index": 0, "finish_reason": finish, "message": message}],
                "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                          "total_tokens": prompt + completion,
                          "completion_tokens_details": {"reasoning_tokens": reasoning}}}

    def response(self, body: Dict[str, Any]) -> Dict[str, Any]:
        """A Responses API reply; the input items are read back as chat messages."""
        messages: List[Dict[str, Any]] = []
        for item in body.get("input") or []:
            if item.get("type") == "function_call_output":
                messages.append({"role": "tool", "content": item.get("output", "")})
            elif item.get("role"):
                messages.append({"role": item["role"], "content": item.get("content", "")})
        tools = body.get("tools") or []
        python = any(t.get("type") == "function" and t.get("name") == self.tool_name for t in tools)
        output: List[Dict[str, Any]] = []
        reasoning = 0
        if body.get("reasoning"):
            reasoning = 20
            output.append({"type": "reasoning", "id": self._next_id("rs"), "encrypted_content": "opaque",
                           "summary": [{"type": "summary_text", "text": "Mock reasoning summary."}]})
        if any(t.get("type") in ("web_search", "web_search_preview") for t in tools) and \
                not any(m.get("role") == "tool" for m in messages) and len(messages) <= 2:
            output.append({"type": "web_search_call", "id": self._next_id("ws"), "status": "completed",
                           "action": {"type": "search", "query": "critical point"}})
        if self._tool_due(messages, python, body.get("tool_choice")):
            output.append({"type": "function_call", "id": self._next_id("fc"), "call_id": self._next_id("call"),
                           "name": self.tool_name, "arguments": json.dumps(self._tool_args()),
                           "status": "completed"})
        else:
            output.append({"type": "message", "id": self._next_id("msg"), "role": "assistant", "status": "completed",
                           "content": [{"type": "output_text", "text": self._text(body, messages),
                                        "annotations": []}]})
        prompt = sum(len(str(m.get("content", ""))) // 4 for m in messages)
        return {"id": self._next_id("resp"), "object": "response", "created_at": 0, "status": "completed",
                "model": body.get("model", "mock"), "output": output, "parallel_tool_calls": True,
                "tool_choice": body.get("tool_choice", "auto"), "tools": tools,
                "usage": {"input_tokens": prompt, "output_tokens": 30 + reasoning, "total_tokens": prompt + 30 + reasoning,
                          "input_tokens_details": {"cached_tokens": 0},
                          "output_tokens_details": {"reasoning_tokens": reasoning}}}
