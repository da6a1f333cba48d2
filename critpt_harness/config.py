"""Typed config schemas, registered in Hydra's ConfigStore.

Every YAML file under ``configs/`` is validated against these dataclasses, so a
misspelt key or a value of the wrong type fails with an error naming the key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import OmegaConf

from .catalogs.config import CatalogConfig
from .grading.config import GraderConfig, validate_grader
from .http import RetryConfig
from .sandbox import SandboxConfig
from .report.config import ReportConfig

COMMANDS = ("run", "generate", "assemble", "check", "submit", "catalog", "report", "import-official",
            "export-official", "serve-grader", "grade-local")


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
    request_timeout: float = 600.0
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
    max_calls: int = 30
    max_seconds: float = 1800.0
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
    progress: bool = True


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
    # Extra tries per file after a dropped connection or a 5xx.
    download_retries: int = 3
    # false = a private set (any *.json challenge files in dataset.path, e.g. the example challenge):
    # batches must cover that set instead of the 70 public ids; grade it with grade-local.
    public: bool = True
    # Also ask the challenges' sub-problem checkpoints, each challenge's steps in one conversation.
    checkpoints: bool = False


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
    # Retries for refunded failures (500/502/504, timeouts, dropped connections).
    max_retries: int = 2
    retry_wait: float = 30.0
    # On 429, wait for Retry-After only when it is at most this many seconds; else stop.
    max_wait_on_429: float = 120.0
    # Gradings per rolling 24 h that the account allows (checked locally before posting).
    daily_limit: int = 10
    # Re-send a batch whose exact content was already graded.
    force: bool = False
    # Epochs to submit; empty = all assembled epochs.
    epochs: List[int] = field(default_factory=list)
    # Ledger of graded batch hashes shared by all run folders; empty = in the cache dir.
    ledger_path: Optional[str] = None
    include_messages: bool = True
    # What to do when a problem fails a pre-submission check: warn | block.
    check_policy: str = "warn"


@dataclass
class InteropConfig:
    """Moving runs to and from the official CritPt pipeline's results/generations layout."""

    # import-official: the official generations folder (one model, one set-up).
    source: Optional[str] = None
    # export-official: where to write; empty = <run_dir>/official/epoch_<k>/.
    export_dir: Optional[str] = None


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
    evaluator: EvaluatorConfig = field(default_factory=EvaluatorConfig)
    catalog: CatalogConfig = field(default_factory=CatalogConfig)
    checks: ChecksConfig = field(default_factory=ChecksConfig)
    interop: InteropConfig = field(default_factory=InteropConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    grader: GraderConfig = field(default_factory=GraderConfig)
    resume: ResumeConfig = field(default_factory=ResumeConfig)
    # Free-form notes copied into the manifest and the batch metadata.
    tags: List[str] = field(default_factory=list)


def register() -> None:
    """Register the schemas so YAML files are validated against them."""
    cs = ConfigStore.instance()
    cs.store(name="harness_schema", node=HarnessConfig)
    cs.store(group="model", name="schema", node=ModelConfig)
    cs.store(group="generation", name="schema", node=GenerationConfig)
    cs.store(group="dataset", name="schema", node=DatasetConfig)
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
    """'_<n>' inside a -m sweep, so jobs started in the same second get distinct run folders."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    try:
        hc = HydraConfig.get()
    except ValueError:
        return ""
    return f"_{hc.job.num}" if hc.mode == RunMode.MULTIRUN else ""


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
    return m.provider == "openai_compatible" and not m.api_key_env and is_local_url(m.base_url)


def validate(cfg: HarnessConfig) -> None:
    """Cross-field checks the schema cannot express; raise ConfigError naming the key."""
    from .errors import ConfigError

    if cfg.command not in COMMANDS:
        raise ConfigError(f"unknown command {cfg.command!r}: use one of {', '.join(COMMANDS)}")
    m, g, e = cfg.model, cfg.generation, cfg.evaluator
    if m.provider not in ("mock", "openai_compatible"):
        raise ConfigError(
            f"model.provider={m.provider!r} is not known: use 'mock' or 'openai_compatible'"
        )
    if m.provider == "openai_compatible":
        missing = [k for k in ("name", "base_url", "api_key_env") if not getattr(m, k)
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
    if m.max_tokens_param not in ("max_tokens", "max_completion_tokens"):
        raise ConfigError("model.max_tokens_param must be 'max_tokens' or 'max_completion_tokens'")
    if g.epochs < 1:
        raise ConfigError(f"generation.epochs={g.epochs}: must be at least 1")
    if g.concurrency < 1:
        raise ConfigError(f"generation.concurrency={g.concurrency}: must be at least 1")
    if g.retry.max_attempts < 1:
        raise ConfigError("generation.retry.max_attempts must be at least 1")
    if m.api not in ("chat", "responses"):
        raise ConfigError(f"model.api={m.api!r}: use 'chat' (Chat Completions) or 'responses' (Responses API)")
    if m.reasoning_budget_style not in (None, "openrouter", "anthropic", "gemini"):
        raise ConfigError(f"model.reasoning_budget_style={m.reasoning_budget_style!r}: use openrouter, "
                          "anthropic, gemini or null")
    if m.reasoning_tokens is not None and m.reasoning_budget_style is None and m.provider != "mock":
        raise ConfigError("model.reasoning_tokens needs model.reasoning_budget_style (openrouter, anthropic or "
                          "gemini) to say how the provider takes a reasoning budget")
    if m.web_search not in ("auto", "responses", "openrouter", "none"):
        raise ConfigError(f"model.web_search={m.web_search!r}: use auto, responses, openrouter or none")
    if g.use_web_search and m.provider != "mock" and web_search_mode(m) == "none":
        raise ConfigError(
            f"generation.use_web_search=true, but {m.name} at {m.base_url} has no built-in web search that "
            "this tool knows: use model.api=responses with OpenAI (model.web_search=responses), or an "
            "OpenRouter model (model=openrouter, model.web_search=openrouter)"
        )
    if g.tools.max_calls < 1 or g.tools.sandbox.timeout <= 0 or g.tools.sandbox.memory_mb < 64:
        raise ConfigError("generation.tools: max_calls >= 1, sandbox.timeout > 0 and sandbox.memory_mb >= 64")
    if e.check_policy not in ("warn", "block"):
        raise ConfigError(f"evaluator.check_policy={e.check_policy!r}: use 'warn' or 'block'")
    if e.max_retries < 0 or e.daily_limit < 1:
        raise ConfigError("evaluator.max_retries must be >= 0 and evaluator.daily_limit >= 1")
    validate_grader(cfg.grader, serving=cfg.command == "serve-grader")
    for key in cfg.resume.allow_changed:
        from .identity import classification  # only here: it loads the problem module (pydantic, httpx)

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
