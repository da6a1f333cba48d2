"""A fake OpenAI-compatible LLM server: Chat Completions and the Responses API (plain,
streamed as server-sent events, or in the background), with the mock model's replies."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Callable, Dict, List, Optional

from critpt_harness.generation.models.mock import MOCK_TOOL_CODE

from .base import FakeServer, Reply, Request, json_reply
from .llm_replies import MockReplies


class FakeLLMServer(MockReplies, FakeServer):
    """OpenAI-compatible Chat Completions and Responses API. Answers like the
    mock model after a fixed latency (or with ``reply(body)``); offered the
    python tool, it first calls it ``tool_rounds`` times with ``tool_code``;
    asked for reasoning, it returns some; offered web search, it searches."""

    def __init__(self, latency: float = 0.0,
                 reply: Optional[Callable[[Dict[str, Any]], Optional[str]]] = None,
                 tool_code: str = MOCK_TOOL_CODE, tool_rounds: int = 1, obey_tool_choice: bool = True,
                 tool_name: str = "python",
                 api_key: Optional[str] = None, models: Optional[List[str]] = None):
        super().__init__()
        # api_key: answer 401 to any other bearer token; models: 404 for a model not listed (as OpenAI does)
        self.api_key = api_key
        self.models = models
        # the tool it calls: python ({"code": tool_code}) or bash ({"cmd": tool_code})
        self.tool_name = tool_name
        # The reply's time: before an unstreamed reply, spread over a streamed one's chunks (so a
        # streamed call sends something every latency/chunks seconds), until a background one is done.
        self.latency = latency
        self.background: Dict[str, Dict[str, Any]] = {}  # id -> {"reply", "ready_at", "status"}
        self.reply = reply
        self.tool_code = tool_code
        self.tool_rounds = tool_rounds
        self.obey_tool_choice = obey_tool_choice
        self._ids = 0

    @property
    def url(self) -> str:
        return self.root + "/v1"

    async def respond(self, req: Request) -> Reply:
        body = (req.json() or {}) if req.body and req.method == "POST" else {}
        if self.latency and not body.get("stream") and not body.get("background") and req.method == "POST":
            await asyncio.sleep(self.latency)
        if self.api_key is not None and req.headers.get("authorization") != f"Bearer {self.api_key}":
            return json_reply(401, {"error": {"message": "Incorrect API key provided.", "type": "invalid_request_error",
                                              "code": "invalid_api_key"}})
        if req.method == "GET" and req.path == "/v1/models":  # what a served model's readiness check asks
            return json_reply(200, {"object": "list", "data": [{"id": m, "object": "model"}
                                                               for m in (self.models or ["mock"])]})
        model = (req.json() or {}).get("model") if req.body else None
        if self.models is not None and model not in self.models:
            return json_reply(404, {"error": {"message": f"The model `{model}` does not exist or you do not have "
                                              "access to it.", "type": "invalid_request_error",
                                              "code": "model_not_found"}})
        if req.path == "/v1/chat/completions":
            reply = self.chat_completion(body)
            return self._chat_events(reply, body) if body.get("stream") else json_reply(200, reply)
        if req.path == "/v1/responses":
            reply = self.response(body)
            if body.get("background"):
                self.background[reply["id"]] = {"reply": reply, "ready_at": time.monotonic() + self.latency}
                return json_reply(200, {**reply, "status": "queued", "output": []})
            return self._response_events(reply) if body.get("stream") else json_reply(200, reply)
        if req.path.startswith("/v1/responses/"):
            rid, _, action = req.path[len("/v1/responses/"):].partition("/")
            job = self.background.get(rid)
            if job is None:
                return json_reply(404, {"error": {"message": f"no response {rid}"}})
            if action == "cancel":
                job["cancelled"] = True
            if job.get("cancelled"):
                return json_reply(200, {**job["reply"], "status": "cancelled", "output": []})
            done = time.monotonic() >= job["ready_at"]
            return json_reply(200, job["reply"] if done else {**job["reply"], "status": "in_progress", "output": []})
        return json_reply(404, {"error": {"message": f"no route {req.path}"}})
