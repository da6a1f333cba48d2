"""The ``grader`` config group: local grading and ``critpt-harness serve-grader``.

Plain dataclasses (OmegaConf-compatible), validated by :func:`validate_grader`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from ..errors import ConfigError
from .sandbox import SandboxConfig

# The local judge's default comparison tolerances (grader.rtol / grader.atol).
DEFAULT_RTOL = 1e-6
DEFAULT_ATOL = 0.0


@dataclass
class GraderConfig:
    # Problems WITH golden answers: a folder of challenge JSON files (any *.json in the official
    # schema, e.g. the example challenge folder) or one such file. Required: none ships with the tool.
    problems: Optional[str] = None
    # serve-grader: where it listens. 127.0.0.1 keeps it on this machine; port 0 = any free port.
    host: str = "127.0.0.1"
    port: int = 8787  # serve-grader: the port it listens on (0 = any free port)
    # Name of the environment variable holding the key the server accepts in `x-api-key`.
    api_key_env: str = "CRITPT_LOCAL_GRADER_KEY"
    # Successful gradings (HTTP 200) allowed per window, like the official grader's 10 per 24 h.
    daily_limit: int = 10
    window_hours: float = 24.0
    # Also expect (and grade) the sub-problem checkpoints in a batch, not only the main problems.
    include_checkpoints: bool = False
    # Default tolerances for numbers; a problem's metadata.settings may override them
    # (rtol / rel_tol / relative_tolerance / tolerance, atol / abs_tol / absolute_tolerance).
    rtol: float = DEFAULT_RTOL
    atol: float = DEFAULT_ATOL
    # Seconds for each phase of one problem: the golden call, the candidate's call, the comparison.
    problem_timeout: float = 30.0
    # Problems judged at once (one forked process each) inside the single sandbox process.
    workers: int = 4
    # Seed of the random points of the numeric fallback (results are reproducible).
    seed: int = 0
    # Put each problem's failure reason in the server's replies (they may reveal golden values);
    # per-problem statuses are always included.
    show_reasons: bool = False
    # Limits of the one sandbox process of a grading (run_judge stretches its time limit to the
    # number of problems); its interpreter must be able to import critpt_harness.
    sandbox: SandboxConfig = field(default_factory=lambda: SandboxConfig(timeout=60.0))


def validate_grader(cfg: GraderConfig, *, serving: bool = False) -> None:
    """Cross-field checks; raise ConfigError naming the key. ``serving`` adds what
    serve-grader needs (a problem set)."""
    if serving and not cfg.problems:
        raise ConfigError("grader.problems is not set: pass grader.problems=<folder or file of challenge JSON "
                          "with golden answers> (e.g. the CritPt example challenge folder)")
    if cfg.rtol < 0 or cfg.atol < 0:
        raise ConfigError(f"grader.rtol={cfg.rtol} and grader.atol={cfg.atol} must be >= 0")
    if cfg.problem_timeout <= 0:
        raise ConfigError(f"grader.problem_timeout={cfg.problem_timeout}: must be > 0 seconds")
    if cfg.sandbox.memory_mb < 256:
        raise ConfigError(f"grader.sandbox.memory_mb={cfg.sandbox.memory_mb}: give the judge at least 256 MB "
                          "(sympy needs it)")
    if cfg.workers < 1:
        raise ConfigError(f"grader.workers={cfg.workers}: must be at least 1")
    if cfg.daily_limit < 0 or cfg.window_hours <= 0:
        raise ConfigError("grader.daily_limit must be >= 0 and grader.window_hours > 0")
    if not 0 <= cfg.port <= 65535:
        raise ConfigError(f"grader.port={cfg.port}: use 0..65535 (0 = any free port)")
    if not cfg.api_key_env:
        raise ConfigError("grader.api_key_env is empty: name the environment variable holding the key "
                          "the local grader accepts")
