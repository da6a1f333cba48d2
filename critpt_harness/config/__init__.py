"""Typed config schemas, registered in Hydra's ConfigStore.

Every YAML file under ``configs/`` is validated against these dataclasses, so a
misspelt key or a value of the wrong type fails with an error naming the key.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import OmegaConf

from ..catalogs.config import CatalogConfig
from ..grading.config import GraderConfig, validate_grader
from ..http import RetryConfig
from ..tools.sandbox import SandboxChoice, SandboxConfig, validate_sandbox
from ..report.config import ReportConfig


def download_retry() -> RetryConfig:
    """Pinned files from GitHub: a few quick tries."""
    return RetryConfig(max_attempts=4, initial_wait=0.5, max_wait=10.0, max_retry_after=60.0)

from ..commands import NAMES as COMMANDS, STAGES  # noqa: E402,F401  (the registry: critpt_harness/commands.py)


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
    # Name sent to the provider (and, unless `label` is set, to the grader).
    name: str = "mock"
    # "mock" (built-in, offline) or "openai_compatible" (any Chat Completions endpoint).
    provider: str = "mock"
    base_url: Optional[str] = None
    # Name of the environment variable that holds the key; never the key itself.
    api_key_env: Optional[str] = None
    # Name recorded in the batch's `model` field and the run folder name; defaults to `name`.
    label: Optional[str] = None
    temperature: Optional[float] = None
    top_p: Optional[float] = None
    max_output_tokens: Optional[int] = None
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


@dataclass
class ToolsConfig:
    # The tool loop ends after this many tool calls or this much wall time per conversation;
    # the model is then asked for its answer without tools.
    # null = no cap (the official solver has none; the *_code experiments use that).
    max_calls: Optional[int] = 30
    max_seconds: Optional[float] = 1800.0
    # A bash tool next to python, in the same sandbox, as the official solver gives.
    bash: bool = True
    sandbox: SandboxConfig = field(default_factory=SandboxConfig)


@dataclass
class GenerationConfig:
    epochs: int = 5
    concurrency: int = 16
    # false = two-step (answer, then a formatting turn); true = one-step (template in the prompt).
    parsing: bool = False
    # The "code" protocol: the model gets a sandboxed python tool.
    use_python: bool = False
    # The "code & web" protocol (with use_python): the provider's built-in web search.
    use_web_search: bool = False
    tools: ToolsConfig = field(default_factory=ToolsConfig)
    # Pass reasoning items back to the model in later turns where the API allows it
    # (Responses API), as the official pipeline does.
    keep_reasoning: bool = True
    retry: RetryConfig = field(default_factory=RetryConfig)
    # A bar on a terminal; without one (nohup, SLURM, CI) a plain line to stderr and harness.log
    # every log_every items or log_seconds, whichever comes first.
    progress: bool = True
    log_every: int = 25
    log_seconds: float = 60.0
    # A budget for the run folder (USD): no new item starts once spent + in flight could pass it;
    # what is done is kept, and the same command with a higher budget resumes.
    max_cost_usd: Optional[float] = None
    # One smallest request before the first item: a refused key, an unknown model or an unreachable
    # host stops the command at once instead of failing every item.
    preflight: bool = True
    # Stop generation (cleanly; the same command resumes) after this many items in a row fail with an
    # error that cannot heal (401/403/404, unknown model, unreachable host); 0 = never stop.
    stop_after_fatal: int = 5


@dataclass
class DatasetConfig:
    # Local directory of Challenge_N.json files; empty = download the pinned public set.
    path: Optional[str] = None
    # Raw-file URL of the pinned GitHub commit; {name} is replaced by Challenge_N.json.
    url_template: str = (
        "https://raw.githubusercontent.com/CritPt-Benchmark/CritPt/"
        "17c2545c302762d2f2d644d923ea4c301605cb08/data/public_test_challenges/json/{name}"
    )
    # Where downloads are cached; empty = $CRITPT_HARNESS_CACHE or ~/.cache/critpt-harness.
    cache_dir: Optional[str] = None
    # Verify downloaded files against the checksums shipped with the tool.
    verify: bool = True
    download_timeout: float = 60.0
    # Tries per file after a dropped connection or a 5xx (the one retry shape: generation.retry's).
    retry: RetryConfig = field(default_factory=lambda: download_retry())
    # false = a private set (any *.json challenge files in dataset.path, e.g. the example challenge):
    # batches must cover that set instead of the 70 public ids; grade it with grade-local.
    public: bool = True
    # Also ask the challenges' sub-problem checkpoints, each challenge's steps in one conversation.
    checkpoints: bool = False
    # A subset for a smoke test: these ids only (e.g. [Challenge_3_main,Challenge_7_main]) and/or the
    # first N ids in the set's stable order. A subset is never posted to the official grader.
    ids: List[str] = field(default_factory=list)
    limit: Optional[int] = None


@dataclass
class PromptsConfig:
    # official = the official CritPt prompt text (downloaded from the pinned commit, checked
    # against the checksums shipped with the tool, cached); own = the tool's paraphrase, for
    # offline use only (scores are not comparable to published ones).
    source: str = "official"
    # A local clone of github.com/CritPt-Benchmark/CritPt (its templates/ folder, or the clone
    # itself): the prompt files are read from there instead of downloaded, and checked alike.
    path: Optional[str] = None
    # Raw-file URL of the pinned GitHub commit; {path} is replaced by the file's repository path.
    url_template: str = (
        "https://raw.githubusercontent.com/CritPt-Benchmark/CritPt/"
        "17c2545c302762d2f2d644d923ea4c301605cb08/{path}"
    )
    # Where downloads are cached; empty = $CRITPT_HARNESS_CACHE or ~/.cache/critpt-harness.
    cache_dir: Optional[str] = None
    download_timeout: float = 60.0
    retry: RetryConfig = field(default_factory=lambda: download_retry())


@dataclass
class ChecksConfig:
    """Pre-submission checks that run each answer in the sandbox (67 of 70 templates)."""

    execute: bool = True
    timeout_per_problem: float = 10.0
    # Allowance for the sandbox process to start (imports sympy once for all problems).
    startup_seconds: float = 30.0
    sandbox: SandboxConfig = field(default_factory=lambda: SandboxConfig(timeout=600.0))


@dataclass
class EvaluatorConfig:
    url: str = "https://artificialanalysis.ai/api/v2/critpt/evaluate"
    api_key_env: str = "ARTIFICIAL_ANALYSIS_API_KEY"
    # true = write and validate each request, post nothing.
    dry_run: bool = True
    # Ask for the NDJSON progress stream (?stream_progress=true); a plain JSON reply also works.
    stream_progress: bool = False
    # Grading takes minutes: the read timeout is long.
    timeout: float = 1800.0
    connect_timeout: float = 30.0
    # Retries for refunded failures (500/502/504, dropped connections before the batch was sent): 3
    # attempts 30 s apart; a 429 is waited for once, and only when its Retry-After is at most
    # retry.max_retry_after seconds (else the command stops and says when to come back).
    retry: RetryConfig = field(default_factory=lambda: RetryConfig(
        max_attempts=3, initial_wait=30.0, max_wait=120.0, max_retry_after=120.0, max_rate_limited=1))
    # Gradings per rolling 24 h that the account allows (checked locally before posting).
    daily_limit: int = 10
    # Re-send a batch whose exact content was already graded.
    force: bool = False
    # Epochs to submit; empty = all assembled epochs.
    epochs: List[int] = field(default_factory=list)
    # Ledger of graded batch hashes shared by all run folders; empty = in the cache dir.
    ledger_path: Optional[str] = None
    # The conversation sent with each answer: official = one assistant message holding the final reply
    # (what the official pipeline sends), none, or full (every turn; reasoning and provider items dropped).
    messages: str = "official"
    # raw = the final (formatting-turn) reply as the model wrote it, as the official pipeline sends it;
    # extracted = the code extracted from it, re-fenced. The pre-submission checks run on the extracted code.
    generated_code: str = "raw"
    # A batch body larger than this (MB) is refused before posting.
    max_body_mb: float = 8.0
    # Another process submitting (one batch at a time per key): wait this long for it, then stop.
    lock_wait: float = 3600.0
    # The rolling window daily_limit counts in (the grader's: 24 h).
    quota_window_hours: float = 24.0
    # `run`: put the epochs in the grading queue instead of posting them (then `critpt-harness queue run`).
    queue: bool = False
    # What to do when a problem fails a pre-submission check: warn | block.
    check_policy: str = "warn"


@dataclass
class InteropConfig:
    """Moving runs to and from the official CritPt pipeline's results/generations layout."""

    # import-official: the official results/generations folder; a tree holding several models or
    # set-ups needs `model` (e.g. openai/gpt-5) and/or `setup` (a part of the folder path below the
    # challenge, e.g. python) to choose one; the command lists the choices.
    source: Optional[str] = None
    model: Optional[str] = None
    setup: Optional[str] = None
    # export-official: where to write; empty = <run_dir>/official/epoch_<k>/.
    export_dir: Optional[str] = None


@dataclass
class QueueConfig:
    """`critpt-harness queue [add|list|run]` (critpt_harness/grading_queue.py)."""

    action: str = "list"  # set by the word after `queue`
    # queue run: sleep until the next grading slot frees and go on until the queue is empty.
    wait: bool = False
    # queue add: higher goes first.
    priority: int = 0


@dataclass
class ResumeConfig:
    # Identity settings (identity.py) that may differ when resuming a run folder, accepted
    # knowingly: e.g. [model.base_url] for the same local model restarted on another port.
    # The manifest records every change accepted this way.
    allow_changed: List[str] = field(default_factory=list)


@dataclass
class HarnessConfig:
    command: str = "run"
    run_dir: str = "runs/unnamed"
    model: ModelConfig = field(default_factory=ModelConfig)
    generation: GenerationConfig = field(default_factory=GenerationConfig)
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    prompts: PromptsConfig = field(default_factory=PromptsConfig)
    evaluator: EvaluatorConfig = field(default_factory=EvaluatorConfig)
    catalog: CatalogConfig = field(default_factory=CatalogConfig)
    checks: ChecksConfig = field(default_factory=ChecksConfig)
    interop: InteropConfig = field(default_factory=InteropConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    grader: GraderConfig = field(default_factory=GraderConfig)
    resume: ResumeConfig = field(default_factory=ResumeConfig)
    queue: QueueConfig = field(default_factory=QueueConfig)
    # sandbox.backend=auto|bwrap|subprocess|docker for every sandbox (sandbox.py).
    sandbox: SandboxChoice = field(default_factory=SandboxChoice)
    # Free-form notes copied into the manifest and the batch metadata.
    tags: List[str] = field(default_factory=list)


def register() -> None:
    """Register the schemas so YAML files are validated against them."""
    cs = ConfigStore.instance()
    cs.store(name="harness_schema", node=HarnessConfig)
    cs.store(group="model", name="schema", node=ModelConfig)
    cs.store(group="generation", name="schema", node=GenerationConfig)
    cs.store(group="dataset", name="schema", node=DatasetConfig)
    cs.store(group="prompts", name="schema", node=PromptsConfig)
    cs.store(group="evaluator", name="schema", node=EvaluatorConfig)
    cs.store(group="catalog", name="schema", node=CatalogConfig)
    cs.store(group="report", name="schema", node=ReportConfig)
    cs.store(group="grader", name="schema", node=GraderConfig)
    for name, fn in (("slug", slugify), ("first", _first), ("job_suffix", _job_suffix)):
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, fn)


def _first(*values: Any) -> Any:
    """The first value that is set (for `label` falling back to `name`)."""
    return next((v for v in values if v not in (None, "")), "model")


def _job_suffix() -> str:
    """Inside a -m sweep, '_<what varies>' (e.g. '_generation-one_step'), so each job's run folder
    says what it ran and jobs started in the same second get distinct folders."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    try:
        hc = HydraConfig.get()
    except ValueError:
        return ""
    if hc.mode != RunMode.MULTIRUN:
        return ""
    parts = [f"{key.split('.')[-1]}-{value}" for key, value in varying_overrides(hc.overrides.task)]
    summary = slugify("_".join(parts))[:60] if parts else ""
    return f"_{summary}" if summary else f"_{hc.job.num}"


def varying_overrides(task_overrides: Any) -> List[tuple]:
    """(key, value) of a sweep job's overrides that the sweep varies (see sweep_keys)."""
    varying = sweep_keys(sys.argv[1:])
    out = []
    for override in task_overrides:
        key, _, value = str(override).partition("=")
        if key.lstrip("+~") in varying:
            out.append((key.lstrip("+~"), value))
    return out


def sweep_keys(args: List[str]) -> set:
    """Keys a -m sweep varies: overrides whose value is a list (a,b), a range(...) or a choice(...).
    A job in another process (joblib, submitit) has other argv: the CLI passes them in CRITPT_SWEEP_KEYS."""
    import os

    passed = os.environ.get("CRITPT_SWEEP_KEYS")
    if passed is not None:
        return {k for k in passed.split(",") if k}
    keys = set()
    for arg in args:
        key, eq, value = arg.partition("=")
        if eq and not arg.startswith("-") and ("," in value or value.startswith(("range(", "choice(", "glob("))):
            if not (value.startswith("[") and value.endswith("]")):  # a list value, not a sweep
                keys.add(key.lstrip("+~"))
    return keys


def slugify(text: Any) -> str:
    """A file-system safe name: 'meta-llama/Llama-4' -> 'meta-llama_Llama-4'."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(text)).strip("_") or "model"


_EFFORTS = {"minimal", "low", "medium", "high"}


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


def validate(cfg: HarnessConfig) -> None:
    """Cross-field checks the schema cannot express; raise ConfigError naming the key."""
    from ..errors import ConfigError

    if cfg.command not in COMMANDS:
        raise ConfigError(f"unknown command {cfg.command!r}: use one of {', '.join(COMMANDS)}")
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
    if m.reasoning_effort is not None and m.reasoning_effort not in _EFFORTS:
        raise ConfigError(
            f"model.reasoning_effort={m.reasoning_effort!r}: use one of {sorted(_EFFORTS)} or null"
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
        from ..generation.identity import classification  # only here: it loads the problem module (pydantic, httpx)

        if not classification(key):
            raise ConfigError(f"resume.allow_changed: {key!r} is not an identity setting (see critpt_harness/"
                              "identity.py); only those are checked when resuming, so there is nothing to allow")


def web_search_mode(m: ModelConfig) -> str:
    """How this model searches the web: 'responses', 'openrouter' or 'none'."""
    if m.web_search != "auto":
        return m.web_search
    if m.api == "responses":
        return "responses"
    if m.base_url and "openrouter.ai" in m.base_url:
        return "openrouter"
    return "none"


def model_label(cfg: HarnessConfig) -> str:
    return cfg.model.label or cfg.model.name
