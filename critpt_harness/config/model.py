"""The `model` group: which model, where, how it is asked (and what the providers accept)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional


@dataclass
class PricingConfig:
    """USD per million tokens (reasoning tokens bill as output); unset = from a stored catalog snapshot."""

    input_per_million: Optional[float] = None
    output_per_million: Optional[float] = None


SERVED_PLACEHOLDER = "served-checkpoint"  # configs/model/vllm_serve.yaml's name until model.checkpoint is set


@dataclass
class ServeConfig:
    """How model.checkpoint is served for the run (an OpenAI-compatible server on 127.0.0.1)."""

    # {checkpoint} and {port} are filled in; e.g. sglang: "python -m sglang.launch_server
    # --model-path {checkpoint} --port {port}".
    command: str = "vllm serve {checkpoint} --port {port}"
    port: int = 0  # 0 = a free port
    ready_timeout: float = 900.0  # loading a large checkpoint takes minutes
    extra_args: List[str] = field(default_factory=list)  # appended to the command (GPU options...)
    env: Dict[str, str] = field(default_factory=dict)  # e.g. {CUDA_VISIBLE_DEVICES: "0,1"}


@dataclass
class ModelConfig:
    # (??? for name and provider: each configs/model/*.yaml sets them or asks for them, so no model
    # inherits another's name.)

    # The model's id at the provider (required), sent to it and, unless `label` is set, to the grader.
    name: str = "???"
    # "mock" (built-in, offline) or "openai_compatible" (any Chat Completions endpoint); required too.
    provider: str = "???"
    # The endpoint, e.g. https://api.openai.com/v1 or http://localhost:8000/v1 (a local server needs no key).
    base_url: Optional[str] = None
    # Name of the environment variable that holds the key; never the key itself.
    api_key_env: Optional[str] = None
    # Name recorded in the batch's `model` field and the run folder name; defaults to `name`.
    label: Optional[str] = None
    # Sampling settings sent as given; null = the provider's default.
    temperature: Optional[float] = None
    top_p: Optional[float] = None
    max_output_tokens: Optional[int] = None  # a cap on the reply's tokens; null = the provider's default
    # OpenAI's newer models take max_completion_tokens; most other servers take max_tokens.
    max_tokens_param: str = "max_tokens"
    # "chat" (Chat Completions) or "responses" (OpenAI Responses API).
    api: str = "chat"
    # minimal | low | medium | high: `reasoning_effort` (chat) or `reasoning.effort` (responses).
    reasoning_effort: Optional[str] = None
    # A reasoning-token budget, for providers that take one; how it is sent is `reasoning_budget_style`:
    # openrouter ({"reasoning": {"max_tokens": N}}), anthropic ({"thinking": {...}}), gemini
    # ({"extra_body": {"google": {"thinking_config": ...}}}).
    reasoning_tokens: Optional[int] = None
    reasoning_budget_style: Optional[str] = None
    # Responses API: ask for a reasoning summary (auto | concise | detailed) to keep in the records.
    reasoning_summary: Optional[str] = None
    # How web search is provided: auto | responses (built-in tool) | openrouter (web plugin) | none.
    web_search: str = "auto"
    # Stream replies (auto = on for reasoning models, i.e. reasoning_effort or reasoning_tokens set, and
    # when max_output_tokens >= 16000; true; false). Reasoning calls on CritPt run for many minutes, and
    # providers ask that calls that may pass ~10 minutes be streamed.
    stream: Any = "auto"
    # Longest silence between streamed chunks (or, unstreamed, nothing) before the attempt is retried.
    idle_timeout: float = 300.0
    # Total limit per call, as the official pipeline allows long calls; a call that hits it is tried
    # again at most max_timeout_retries times (each try is paid for), then recorded as failed.
    request_timeout: float = 1800.0
    max_timeout_retries: int = 1
    # Responses API only: submit in background mode and poll until done (survives dropped connections
    # without paying twice; needs store=true on OpenAI's side).
    background: bool = False
    pricing: PricingConfig = field(default_factory=PricingConfig)
    # Your own checkpoint (a path or a Hugging Face id): served for run/generate by model.serve.command
    # (model=vllm_serve); model.base_url then points at it.
    checkpoint: Optional[str] = None
    serve: ServeConfig = field(default_factory=ServeConfig)
    # Provider-specific request fields merged into the request body.
    extra_body: Dict[str, Any] = field(default_factory=dict)
    extra_headers: Dict[str, str] = field(default_factory=dict)
    # This model's id in each catalog, when name matching is not enough:
    # {artificial_analysis: <id>, openrouter: <slug>, llm_registry: <id>, aimodelsmap: <slug>}
    catalog_ids: Dict[str, str] = field(default_factory=dict)


EFFORTS = {"minimal", "low", "medium", "high"}


LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0"})


def is_local_url(url: Optional[str]) -> bool:
    """True when ``url`` points at this machine (localhost, 127.0.0.1, ::1, 0.0.0.0)."""
    if not url:
        return False
    from urllib.parse import urlsplit

    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return False
    return host in LOCAL_HOSTS


def keyless(m: "ModelConfig") -> bool:
    """A local openai_compatible server (vLLM, Ollama...) with model.api_key_env=null:
    no key is read and no Authorization header is sent."""
    from ..providers import provider

    found = provider(m.provider)
    # a served checkpoint (model.checkpoint) is on this machine too
    return found is not None and found.endpoint and not m.api_key_env and (is_local_url(m.base_url)
                                                                            or bool(m.checkpoint))


# Thinking budgets the providers document (model-name prefix, lowest, highest); Google's thinking guide.
GEMINI_BUDGETS = (("gemini-2.5-flash-lite", 512, 24576), ("gemini-2.5-flash", 0, 24576), ("gemini-2.5-pro", 128, 32768))


ANTHROPIC_MIN_BUDGET = 1024  # Anthropic's extended thinking: budget_tokens >= 1024 and below max_tokens


def check_thinking_budget(m: ModelConfig) -> None:
    """Refuse a model.reasoning_tokens the provider would refuse (or silently clamp)."""
    from ..errors import ConfigError

    n = m.reasoning_tokens
    if n is None:
        return
    if n < 0:
        raise ConfigError(f"model.reasoning_tokens={n}: a budget cannot be negative")
    name = m.name.split("/")[-1].lower()
    if m.reasoning_budget_style == "gemini":
        for prefix, low, high in GEMINI_BUDGETS:
            if name.startswith(prefix):
                if not low <= n <= high:
                    raise ConfigError(f"model.reasoning_tokens={n}: {m.name} takes a thinking budget of {low}-{high} "
                                      "tokens (Google's thinking documentation); choose one in that range, or null "
                                      "for the model's dynamic thinking")
                break
    if m.reasoning_budget_style == "anthropic":
        if n < ANTHROPIC_MIN_BUDGET:
            raise ConfigError(f"model.reasoning_tokens={n}: Anthropic's extended thinking needs at least "
                              f"{ANTHROPIC_MIN_BUDGET} tokens")
        if m.max_output_tokens is not None and n >= m.max_output_tokens:
            raise ConfigError(f"model.reasoning_tokens={n} must be below model.max_output_tokens="
                              f"{m.max_output_tokens} (Anthropic counts thinking inside max_tokens)")


def web_search_mode(m: ModelConfig) -> str:
    """How this model searches the web: 'responses', 'openrouter' or 'none'."""
    if m.web_search != "auto":
        return m.web_search
    if m.api == "responses":
        return "responses"
    if m.base_url and "openrouter.ai" in m.base_url:
        return "openrouter"
    return "none"
