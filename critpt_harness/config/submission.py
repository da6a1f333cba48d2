"""The `checks`, `evaluator` and `queue` settings: what is checked before a grading, and how it is sent."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional

from ..retry import RetryConfig
from .sandbox import SandboxConfig


@dataclass
class ChecksConfig:
    """Pre-submission checks that run each answer in the sandbox (67 of 70 templates)."""

    # Run each answer's answer() in the sandbox (false: the static checks only).
    execute: bool = True
    # Seconds one answer's execution may take.
    timeout_per_problem: float = 10.0
    # check/assemble: list the reason of every failing problem, not only the first 8 (`check --all`).
    show_all: bool = False
    # Allowance for the sandbox process to start (imports sympy once for all problems).
    startup_seconds: float = 30.0
    sandbox: SandboxConfig = field(default_factory=lambda: SandboxConfig(timeout=600.0))


@dataclass
class EvaluatorConfig:
    # The grader's evaluate endpoint (a local serve-grader's URL grades LOCALLY, labelled as such).
    url: str = "https://artificialanalysis.ai/api/v2/critpt/evaluate"
    # Name of the environment variable holding the grader's key (never the key itself).
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
class QueueConfig:
    """`critpt-harness queue [add|list|run]` (critpt_harness/submission/queue.py)."""

    action: str = "list"  # set by the word after `queue`
    # queue run: sleep until the next grading slot frees and go on until the queue is empty.
    wait: bool = False
    # queue add: higher goes first.
    priority: int = 0
