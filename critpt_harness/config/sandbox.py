"""The sandbox settings: one backend for every sandbox (`sandbox`), and each use's limits
(`generation.tools.sandbox`, `checks.sandbox`, `grader.sandbox`). The backends are in tools/sandbox.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ..errors import ConfigError

BACKENDS = ("auto", "bwrap", "landlock", "subprocess", "docker")
# What `auto` tries, in order; the first whose probe holds is used, and none holding refuses.
AUTO_ORDER = ("bwrap", "landlock")


@dataclass
class SandboxConfig:
    """Isolation and limits for model-written code (the python tool, execution checks, the judge)."""

    # auto | bwrap | landlock | subprocess | docker. auto = bwrap (the system's, else the bundled one),
    # else landlock, else refuse; subprocess (UNISOLATED: the code sees your files) runs only when named.
    backend: str = "auto"
    timeout: float = 60.0
    memory_mb: int = 2048
    cpu_seconds: int = 60
    max_file_mb: int = 64
    # Processes (and threads) the code may run at once (RLIMIT_NPROC; docker: --pids-limit).
    max_processes: int = 256
    max_output_chars: int = 10000
    # No network for the code (bwrap: own network namespace; landlock: no sockets but socketpair;
    # docker: --network none; subprocess: `unshare -rn` where it works).
    block_network: bool = True
    # Interpreter for the code; empty = the one running the harness (has numpy, scipy, sympy).
    # Ignored by the docker backend (the image's python3).
    python: Optional[str] = None
    # docker backend: the image (python3 with numpy, scipy and sympy).
    docker_image: str = "python:3.12-slim"


@dataclass
class SandboxChoice:
    """The top-level ``sandbox`` key: one backend for every sandbox (the python tool,
    the execution checks, the judge). configs/config.yaml points
    ``generation.tools.sandbox``, ``checks.sandbox`` and ``grader.sandbox`` at it;
    setting one of those directly overrides it for that use only."""

    # Where model code runs, for every use: auto | bwrap | landlock | subprocess | docker (auto: the first that
    # isolates, else refuse; `critpt-harness check-sandbox` shows what holds here).
    backend: str = "auto"
    docker_image: str = "python:3.12-slim"


def validate_sandbox(cfg: SandboxConfig, where: str) -> None:
    """Raise ConfigError naming ``<where>.<key>`` for a bad sandbox setting."""
    if cfg.backend not in BACKENDS:
        raise ConfigError(f"{where}.backend={cfg.backend!r}: use one of {', '.join(BACKENDS)}")
    if cfg.max_processes < 1:
        raise ConfigError(f"{where}.max_processes={cfg.max_processes}: must be at least 1")
    if cfg.backend == "docker" and not cfg.docker_image:
        raise ConfigError(f"{where}.docker_image is empty: name an image with python3, numpy, scipy and sympy")
