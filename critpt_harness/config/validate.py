"""Checks across groups that a schema cannot express, each naming the option and what to do."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .data import check_dataset
from .grading import validate_grader
from .identity import classification
from .sandbox import SandboxConfig, validate_sandbox
from .model import EFFORTS, SERVED_PLACEHOLDER, keyless, check_thinking_budget, web_search_mode

if TYPE_CHECKING:
    from . import HarnessConfig


def validate(cfg: HarnessConfig) -> None:
    """Cross-field checks the schema cannot express; raise ConfigError naming the key."""
    from ..errors import ConfigError

    m, g, e = cfg.model, cfg.generation, cfg.evaluator
    from ..providers import PROVIDERS, is_offline

    known = [p.name for p in PROVIDERS.values() if p.generates]
    if m.provider not in known and not (m.provider in PROVIDERS and cfg.command not in ("run", "generate")):
        raise ConfigError(f"model.provider={m.provider!r} cannot be used here: use one of {', '.join(known)}")
    if m.name == SERVED_PLACEHOLDER and not m.checkpoint:
        raise ConfigError("model=vllm_serve needs model.checkpoint=<a path or a Hugging Face id> to serve")
    if PROVIDERS[m.provider].endpoint:
        missing = [k for k in ("name", "base_url", "api_key_env") if not getattr(m, k)
                   and not (k == "base_url" and m.checkpoint)  # filled in when the checkpoint is served
                   and not (k == "api_key_env" and keyless(m))]
        if missing:
            keys = ", ".join(f"model.{k}" for k in missing)
            raise ConfigError(
                f"model=openai_compatible needs {keys}: e.g. model.name=gpt-4o "
                "model.base_url=https://api.openai.com/v1 model.api_key_env=OPENAI_API_KEY"
            )
    if m.reasoning_effort is not None and m.reasoning_effort not in EFFORTS:
        raise ConfigError(
            f"model.reasoning_effort={m.reasoning_effort!r}: use one of {sorted(EFFORTS)} or null"
        )
    check_thinking_budget(m)
    if cfg.queue.action not in ("add", "list", "run"):
        raise ConfigError(f"queue action {cfg.queue.action!r}: use `critpt-harness queue add|list|run`")
    if e.quota_window_hours <= 0 or e.lock_wait < 0:
        raise ConfigError("evaluator.quota_window_hours must be positive and evaluator.lock_wait >= 0")
    if e.messages not in ("official", "none", "full"):
        raise ConfigError(f"evaluator.messages={e.messages!r}: use official, none or full")
    if e.generated_code not in ("raw", "extracted"):
        raise ConfigError(f"evaluator.generated_code={e.generated_code!r}: use raw or extracted")
    if e.max_body_mb <= 0:
        raise ConfigError(f"evaluator.max_body_mb={e.max_body_mb}: must be positive")
    if str(m.stream).lower() not in ("auto", "true", "false"):
        raise ConfigError(f"model.stream={m.stream!r}: use auto, true or false")
    if m.background and m.api != "responses":
        raise ConfigError("model.background=true needs model.api=responses (background mode is a Responses API feature)")
    if m.idle_timeout <= 0 or m.request_timeout <= 0 or m.max_timeout_retries < 0:
        raise ConfigError("model.idle_timeout and model.request_timeout must be positive seconds, "
                          "model.max_timeout_retries >= 0")
    if m.max_tokens_param not in ("max_tokens", "max_completion_tokens"):
        raise ConfigError("model.max_tokens_param must be 'max_tokens' or 'max_completion_tokens'")
    if g.epochs < 1:
        raise ConfigError(f"generation.epochs={g.epochs}: must be at least 1")
    check_dataset(cfg.dataset)
    if cfg.dataset.limit is not None and cfg.dataset.limit < 1:
        raise ConfigError(f"dataset.limit={cfg.dataset.limit}: must be at least 1 (or null for the whole set)")
    if g.max_cost_usd is not None and g.max_cost_usd < 0:
        raise ConfigError(f"generation.max_cost_usd={g.max_cost_usd}: a budget cannot be negative")
    for side in ("input_per_million", "output_per_million"):
        value = getattr(m.pricing, side)
        if value is not None and value < 0:
            raise ConfigError(f"model.pricing.{side}={value}: a price cannot be negative")
    if (m.pricing.input_per_million is None) != (m.pricing.output_per_million is None):
        raise ConfigError("model.pricing.input_per_million and model.pricing.output_per_million go together: "
                          "set both (USD per million tokens)")
    if g.log_every < 1 or g.log_seconds <= 0:
        raise ConfigError(f"generation.log_every={g.log_every} / generation.log_seconds={g.log_seconds}: "
                          "both must be positive")
    if g.stop_after_fatal < 0:
        raise ConfigError(f"generation.stop_after_fatal={g.stop_after_fatal}: use a count >= 1, or 0 to never stop")
    if g.concurrency < 1:
        raise ConfigError(f"generation.concurrency={g.concurrency}: must be at least 1")
    if g.retry.max_attempts < 1:
        raise ConfigError("generation.retry.max_attempts must be at least 1")
    if m.api not in ("chat", "responses"):
        raise ConfigError(f"model.api={m.api!r}: use 'chat' (Chat Completions) or 'responses' (Responses API)")
    if m.reasoning_budget_style not in (None, "openrouter", "anthropic", "gemini"):
        raise ConfigError(f"model.reasoning_budget_style={m.reasoning_budget_style!r}: use openrouter, "
                          "anthropic, gemini or null")
    if m.reasoning_tokens is not None and m.reasoning_budget_style is None and not is_offline(m.provider):
        raise ConfigError("model.reasoning_tokens needs model.reasoning_budget_style (openrouter, anthropic or "
                          "gemini) to say how the provider takes a reasoning budget")
    if m.web_search not in ("auto", "responses", "openrouter", "none"):
        raise ConfigError(f"model.web_search={m.web_search!r}: use auto, responses, openrouter or none")
    if g.use_web_search and not is_offline(m.provider) and web_search_mode(m) == "none":
        raise ConfigError(
            f"generation.use_web_search=true, but {m.name} at {m.base_url} has no built-in web search that "
            "this tool knows: use model.api=responses with OpenAI (model.web_search=responses), or an "
            "OpenRouter model (model=openrouter, model.web_search=openrouter)"
        )
    if (g.tools.max_calls is not None and g.tools.max_calls < 1) or g.tools.sandbox.timeout <= 0 \
            or g.tools.sandbox.memory_mb < 64 or (g.tools.max_seconds is not None and g.tools.max_seconds <= 0):
        raise ConfigError("generation.tools: max_calls >= 1 or null, max_seconds > 0 or null, sandbox.timeout > 0 "
                          "and sandbox.memory_mb >= 64")
    validate_sandbox(SandboxConfig(backend=cfg.sandbox.backend, docker_image=cfg.sandbox.docker_image), "sandbox")
    for where, box in (("generation.tools.sandbox", g.tools.sandbox), ("checks.sandbox", cfg.checks.sandbox),
                       ("grader.sandbox", cfg.grader.sandbox)):
        validate_sandbox(box, where)
    if cfg.prompts.source not in ("official", "own"):
        raise ConfigError(f"prompts.source={cfg.prompts.source!r}: use 'official' (the official CritPt prompt "
                          "text) or 'own' (the tool's paraphrase, offline use)")
    if e.check_policy not in ("warn", "block"):
        raise ConfigError(f"evaluator.check_policy={e.check_policy!r}: use 'warn' or 'block'")
    for where, retry in (("generation", g.retry), ("evaluator", e.retry), ("dataset", cfg.dataset.retry),
                         ("prompts", cfg.prompts.retry)):
        if retry.max_attempts < 1 or retry.initial_wait < 0 or retry.max_wait < 0:
            raise ConfigError(f"{where}.retry: max_attempts >= 1 (the first try included), waits >= 0")
    if e.daily_limit < 1:
        raise ConfigError("evaluator.daily_limit must be >= 1")
    validate_grader(cfg.grader, serving=cfg.command == "serve-grader")
    for key in cfg.resume.allow_changed:
        if not classification(key):
            raise ConfigError(f"resume.allow_changed: {key!r} is not an identity setting (see critpt_harness/"
                              "config/identity.py); only those are checked when resuming, so there is nothing to allow")
