"""The `generation` group (protocol, epochs, tools, limits) and `resume`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional

from ..retry import RetryConfig
from .sandbox import SandboxConfig


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
    # Times every problem is asked; the published scores average 5 epochs (one grading each).
    epochs: int = 5
    # Model calls in flight at once.
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
class ResumeConfig:
    # Identity settings (config/identity.py) that may differ when resuming a run folder, accepted
    # knowingly: e.g. [model.base_url] for the same local model restarted on another port.
    # The manifest records every change accepted this way.
    allow_changed: List[str] = field(default_factory=list)
