"""What the two OpenAI-compatible APIs share: the SDK client with our retries, streaming,
reasoning budgets, and the preflight probe.

The openai SDK (~0.5 s to import) is imported only when a client is built, so commands that
call no model (resuming a finished run, report) do not pay for it."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Callable, Dict, List, Optional

from ...config import GenerationConfig, ModelConfig, keyless
from ...errors import ModelUnusable
from ...failures import fatal_reason
from ...http import sdk_http_client
from ...netio import within
from ...retry import RetryPolicy
from .base import CallTooLong, ChatModel, OnRetry

# Keys of a chat message that Chat Completions servers accept.
_WIRE_KEYS = ("role", "content", "tool_calls", "tool_call_id", "name")


def streaming(cfg: ModelConfig) -> bool:
    """model.stream: auto = on for reasoning models and large output caps."""
    value = str(cfg.stream).lower()
    if value == "auto":
        return (cfg.reasoning_effort is not None or cfg.reasoning_tokens is not None
                or (cfg.max_output_tokens or 0) >= 16000)
    return value == "true"


def retry_policy(gen: GenerationConfig) -> RetryPolicy:
    import openai

    # The SDK wraps dropped connections and timeouts in APIConnectionError (APITimeoutError is one);
    # models/sse.py turns those of a stream it reads into the same errors.
    return RetryPolicy.from_config(gen.retry, transient=(openai.APIConnectionError, ConnectionError, TimeoutError))


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


def _reasoning_text(message: Dict[str, Any]) -> Optional[str]:
    # Providers disagree on the field: DeepSeek/vLLM use reasoning_content, OpenRouter reasoning.
    for key in ("reasoning_content", "reasoning"):
        value = message.get(key)
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
        self.streaming = streaming(cfg)
        # Streamed, httpx's read timeout is the idle limit between chunks; unstreamed, the whole reply
        # may take up to the total limit, which within_limit enforces.
        read = cfg.idle_timeout if self.streaming else cfg.request_timeout + 5
        self.client = openai.AsyncOpenAI(api_key=api_key, base_url=cfg.base_url, max_retries=0,
                                         timeout=openai.Timeout(read, connect=min(30.0, read)),
                                         default_headers=dict(cfg.extra_headers) or None,
                                         http_client=sdk_http_client(openai))
        # Told how many characters just streamed in (the progress display counts them).
        self.on_stream: Optional[Callable[[int], None]] = None
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

    async def within_limit(self, call: Callable[[List[str]], Any]) -> Any:
        """``call(received)`` under the total limit, tried again at most max_timeout_retries times.
        ``call`` appends what it receives to ``received``, so a try that runs out keeps its text."""
        c = self.cfg
        for n in range(c.max_timeout_retries + 1):
            received: List[str] = []
            try:
                return await within(call(received), c.request_timeout)  # no extra task per call, as wait_for's
            except asyncio.TimeoutError:
                got = "".join(received)
                if n == c.max_timeout_retries:
                    raise CallTooLong(f"no complete reply within model.request_timeout={c.request_timeout:g}s "
                                      f"({n + 1} tr{'ies' if n else 'y'}; the last received {len(got)} characters)",
                                      got) from None
                if self.on_retry is not None:
                    self.on_retry(n + 1, TimeoutError(f"model.request_timeout={c.request_timeout:g}s"), 0.0)
        raise AssertionError("unreachable")

    def streamed(self, text: Optional[str], received: List[str]) -> None:
        if text:
            received.append(text)
            if self.on_stream is not None:
                self.on_stream(len(text))

    async def aclose(self) -> None:
        await self.client.close()

    # The endpoint and reply type; set by each API's class.
    PATH = ""

    def reply_type(self) -> Any:
        """The SDK's model of a reply (imported on use: the SDK loads only when a model is called)."""
        raise NotImplementedError
    CAP_FIELD: Optional[str] = None  # the output-cap field; None = the config's model.max_tokens_param

    async def probe(self) -> None:
        """The smallest request this model accepts, sent once (no retries): the preflight. It is
        streamed and closed at the first byte: the status is all it asks for, so a reasoning model
        is not waited for (and the stream's end is never paid for)."""
        import openai

        body = self.request_body([{"role": "user", "content": "Reply with the word OK."}])  # type: ignore[attr-defined]
        c = self.cfg
        if c.reasoning_effort is None and c.reasoning_tokens is None:  # reasoning models need room to think
            body[self.CAP_FIELD or c.max_tokens_param] = min(16, c.max_output_tokens or 16)
        body["stream"] = True
        stream = await self.client.post(self.PATH, cast_to=self.reply_type(), body=body,  # type: ignore[call-overload]
                                        options=self.request_options, stream=True, stream_cls=openai.AsyncStream[Any])
        await stream.close()


def unusable_advice(cfg: ModelConfig, reason: str) -> str:
    """What to do about a fatal_reason, naming the settings involved."""
    where = f"model {cfg.name!r} at {cfg.base_url}"
    if "401" in reason or "403" in reason:
        key = f"the key in ${cfg.api_key_env} (model.api_key_env)" if cfg.api_key_env else "model.api_key_env"
        todo = f"check {key}: is it set, current, and for this provider?"
    elif "reached" in reason:
        todo = "check model.base_url and the network (a local server must be running and listening there)"
    else:
        todo = "check model.name (the provider's id for the model) and model.base_url (usually ending in /v1)"
    return f"{where}: {reason}; {todo}"


async def preflight(model: "ChatModel", cfg: ModelConfig, timeout: float = 120.0) -> Optional[str]:
    """Raise ModelUnusable when the model cannot answer at all; return a note when the probe
    failed for another reason (the items then go on with their own retries)."""
    probe = getattr(model, "probe", None)
    if probe is None:  # the offline mock
        return None
    import asyncio

    try:
        await within(probe(), min(timeout, cfg.request_timeout))  # Ctrl-C as it answers still stops the run
    except asyncio.TimeoutError:
        return f"the preflight request took over {min(timeout, cfg.request_timeout):.0f} s; going on"
    except Exception as exc:  # classified: only the hopeless ones stop the command
        reason = fatal_reason(exc)
        if reason:
            raise ModelUnusable(f"preflight: {unusable_advice(cfg, reason)}. Nothing was generated.") from exc
        return f"the preflight request failed ({type(exc).__name__}: {str(exc)[:200]}); going on"
    return None
