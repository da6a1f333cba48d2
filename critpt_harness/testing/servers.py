"""Small real HTTP servers on 127.0.0.1 for tests, benchmarks and offline rehearsal:
an OpenAI-compatible LLM, the CritPt grader, and a static file host (for the
dataset download). Each records every request and takes injected faults.

    with FakeLLMServer(latency=0.5) as llm:
        llm.inject(Fault(429, headers={"Retry-After": "1"}), Fault.drop())
        ... model.base_url = llm.url ...
"""

from __future__ import annotations

import argparse
import asyncio
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable, Deque, Dict, List, Optional
from urllib.parse import parse_qs, urlparse

import h11

from ..grading.contract import EvaluateContract, js_date  # noqa: F401 - js_date is re-exported
from ..generation.models.mock import MOCK_TOOL_CODE, mock_reply
from ..data.problems import PUBLIC_IDS


@dataclass
class Fault:
    """What the server does instead of answering normally, once."""

    status: int = 500
    headers: Dict[str, str] = field(default_factory=dict)
    body: Any = None
    drop: bool = False  # close the connection without a reply
    delay: float = 0.0

    @classmethod
    def dropped(cls) -> "Fault":
        return cls(drop=True)


@dataclass
class Request:
    method: str
    path: str
    query: Dict[str, List[str]]
    headers: Dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)
    target: str = ""  # the raw request target: path and query string

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Reply:
    """A response: a JSON body, or an NDJSON stream sent line by line."""

    status: int = 200
    payload: Any = None
    headers: Dict[str, str] = field(default_factory=dict)
    lines: Optional[List[Any]] = None
    pause: float = 0.0  # between streamed lines (NDJSON or server-sent events)
    events: Optional[List[Any]] = None  # server-sent events: a dict is a data line, a str a comment (keep-alive)
    done_marker: bool = True  # end the events with `data: [DONE]` (Chat Completions does)
    raw: Optional[bytes] = None
    content_type: str = "application/json"


def json_reply(status: int, payload: Any, headers: Optional[Dict[str, str]] = None) -> Reply:
    return Reply(status=status, payload=payload, headers=headers or {})


class FakeServer:
    """Base: an asyncio HTTP/1.1 server (h11) on an ephemeral loopback port,
    running in a background thread. One event loop serves every connection, so
    a fixed latency costs no thread per request."""

    def __init__(self) -> None:
        self.requests: List[Request] = []
        self.faults: Deque[Fault] = deque()
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._server: Optional[asyncio.AbstractServer] = None
        self._thread: Optional[threading.Thread] = None
        self._port = 0

    # lifecycle
    def start(self, port: int = 0) -> "FakeServer":
        ready = threading.Event()

        def serve() -> None:
            self._loop = asyncio.new_event_loop()
            self._server = self._loop.run_until_complete(
                asyncio.start_server(self._connection, "127.0.0.1", port, backlog=1024))
            self._port = self._server.sockets[0].getsockname()[1]
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=serve, daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is None:
            return

        server = self._server
        assert server is not None and self._thread is not None

        async def close() -> None:
            server.close()
            for task in [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]:
                task.cancel()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()
        self._loop = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def root(self) -> str:
        assert self._port, "start() the server first"
        return f"http://127.0.0.1:{self._port}"

    # fault injection and bookkeeping
    def inject(self, *faults: Fault) -> None:
        with self._lock:
            self.faults.extend(faults)

    def _take_fault(self, req: Request) -> Optional[Fault]:
        with self._lock:
            self.requests.append(req)
            return self.faults.popleft() if self.faults else None

    async def respond(self, req: Request) -> Reply:  # pragma: no cover - overridden
        return json_reply(404, {"error": "not found"})

    # HTTP plumbing
    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = h11.Connection(h11.SERVER)
        try:
            while True:
                req = await self._read_request(conn, reader)
                if req is None:
                    return
                fault = self._take_fault(req)
                if fault is not None:
                    if fault.delay:
                        await asyncio.sleep(fault.delay)
                    if fault.drop:
                        return
                    reply = json_reply(fault.status, fault.body if fault.body is not None
                                       else {"error": "injected fault"}, fault.headers)
                else:
                    with self._lock:
                        self.in_flight += 1
                        self.max_in_flight = max(self.max_in_flight, self.in_flight)
                    try:
                        reply = await self.respond(req)
                    finally:
                        with self._lock:
                            self.in_flight -= 1
                await self._write(conn, writer, reply)
                if conn.our_state is h11.MUST_CLOSE:
                    return
                conn.start_next_cycle()
        except (ConnectionError, h11.RemoteProtocolError, asyncio.CancelledError):
            return
        finally:
            writer.close()

    async def _read_request(self, conn: h11.Connection, reader: asyncio.StreamReader) -> Optional[Request]:
        head, body = None, b""
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = await reader.read(65536)
                conn.receive_data(data)
                continue
            if isinstance(event, h11.Request):
                head = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                assert head is not None  # h11 sends the Request before its EndOfMessage
                url = urlparse(head.target.decode())
                headers = {k.decode().lower(): v.decode() for k, v in head.headers}
                return Request(head.method.decode(), url.path, parse_qs(url.query), headers, body,
                               target=head.target.decode())
            elif isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
                return None

    async def _write(self, conn: h11.Connection, writer: asyncio.StreamWriter, reply: Reply) -> None:
        if reply.events is not None:
            headers = [("Content-Type", "text/event-stream"), *reply.headers.items()]
            writer.write(conn.send(h11.Response(status_code=reply.status, headers=headers)))
            frames = [f": {e}\n\n" if isinstance(e, str) else f"data: {json.dumps(e)}\n\n" for e in reply.events]
            # Paced against the clock, not slept one by one: the whole reply takes the fixed latency
            # however busy the loop is (each sleep's lateness would otherwise add up).
            start = time.monotonic()
            for n, frame in enumerate(frames + (["data: [DONE]\n\n"] if reply.done_marker else []), 1):
                writer.write(conn.send(h11.Data(data=frame.encode())))
                await writer.drain()
                if reply.pause:
                    await asyncio.sleep(max(0.0, start + n * reply.pause - time.monotonic()))
            writer.write(conn.send(h11.EndOfMessage()))
        elif reply.lines is not None:
            headers = [("Content-Type", "application/x-ndjson"), *reply.headers.items()]
            writer.write(conn.send(h11.Response(status_code=reply.status, headers=headers)))
            for line in reply.lines:
                writer.write(conn.send(h11.Data(data=(json.dumps(line) + "\n").encode())))
                await writer.drain()
                if reply.pause:
                    await asyncio.sleep(reply.pause)
            writer.write(conn.send(h11.EndOfMessage()))
        elif reply.status in (204, 304):  # no body allowed
            writer.write(conn.send(h11.Response(status_code=reply.status, headers=list(reply.headers.items())))
                         + conn.send(h11.EndOfMessage()))
        else:
            data = reply.raw if reply.raw is not None else json.dumps(reply.payload).encode()
            named = {k.lower() for k in reply.headers}
            headers = [("Content-Length", str(len(data))), *reply.headers.items()]
            if "content-type" not in named:
                headers.insert(0, ("Content-Type", reply.content_type))
            writer.write(conn.send(h11.Response(status_code=reply.status, headers=headers))
                         + conn.send(h11.Data(data=data)) + conn.send(h11.EndOfMessage()))
        await writer.drain()


class FakeLLMServer(FakeServer):
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
        return Reply(events=events, pause=self.latency / len(events))

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


class FakeGrader(EvaluateContract, FakeServer):
    """The CritPt evaluate endpoint: key check, exact coverage, a daily quota
    (only 200 counts), rate-limit headers, plain JSON or an NDJSON stream -- the
    contract lives in grading/contract.py; here a batch's accuracy is the share
    of submissions for which ``grade(submission)`` is true."""

    def __init__(self, api_key: str = "grader-key", limit: int = 10, ids: tuple = PUBLIC_IDS,
                 grade: Optional[Callable[[Dict[str, Any]], bool]] = None, grading_time: float = 0.0,
                 forbidden: bool = False, window: Optional[timedelta] = None):
        super().__init__()
        self.setup_contract(api_key=api_key, limit=limit, ids=ids, forbidden=forbidden,
                            window=window or timedelta(hours=24))
        self.grade = grade or (lambda s: "```python" in s.get("generated_code", ""))
        self.grading_time = grading_time

    async def evaluate(self, submissions: List[Dict[str, Any]], body: Dict[str, Any]) -> Dict[str, Any]:
        if self.grading_time:
            await asyncio.sleep(self.grading_time)
        correct = sum(1 for s in submissions if self.grade(s))
        return {"accuracy": correct / len(submissions), "timeout_rate": 0.0, "server_timeout_count": 0,
                "judge_error_count": 0}


class FakeFileHost(FakeServer):
    """Serves the files of a directory at ``/<name>`` (stands in for GitHub raw)."""

    def __init__(self, directory: Path):
        super().__init__()
        self.directory = Path(directory)

    @property
    def url_template(self) -> str:
        return self.root + "/{name}"

    async def respond(self, req: Request) -> Reply:
        path = self.directory / req.path.lstrip("/")
        if not path.is_file():
            return json_reply(404, {"error": "not found"})
        return Reply(raw=path.read_bytes())


def main() -> None:
    """Run a fake LLM or grader in the foreground: for benchmarks and offline rehearsal."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["llm", "grader"])
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per LLM reply")
    parser.add_argument("--api-key", default="grader-key", help="key the fake grader accepts")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 = a free one)")
    args = parser.parse_args()
    server = FakeLLMServer(latency=args.latency) if args.kind == "llm" else FakeGrader(api_key=args.api_key)
    server.start(args.port)
    print(server.url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
