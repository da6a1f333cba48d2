"""Run model-written Python outside this process, with limits.

Each call gets a fresh process and temporary working directory, a minimal
environment (no API keys), a wall-clock time limit, and -- via setrlimit --
memory, CPU-time, file-size and process-count limits. On Linux, when
``unshare`` can create a user + network namespace, the code runs with no
network at all; elsewhere the network is not blocked (``SandboxResult.network_blocked``
says which). Model code never runs in the harness's own process.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import List, Optional



@dataclass
class SandboxConfig:
    """Limits for model-written code (the python tool, execution checks)."""

    timeout: float = 60.0
    memory_mb: int = 2048
    cpu_seconds: int = 60
    max_file_mb: int = 64
    max_output_chars: int = 10000
    # Run without network where the OS allows it (Linux user namespaces via `unshare`).
    block_network: bool = True
    # Interpreter for the code; empty = the one running the harness (has numpy, scipy, sympy).
    python: Optional[str] = None


@dataclass
class SandboxResult:
    stdout: str
    stderr: str
    exit_code: Optional[int]
    timed_out: bool
    duration_s: float
    truncated: bool
    network_blocked: bool

    def as_tool_output(self) -> str:
        """What the model sees."""
        parts = []
        if self.stdout:
            parts.append(self.stdout)
        if self.stderr:
            parts.append(f"[stderr]\n{self.stderr}")
        if self.timed_out:
            parts.append("[the code was stopped: time limit reached]")
        elif self.exit_code not in (0, None):
            parts.append(f"[exit code {self.exit_code}]")
        return "\n".join(parts) or "[no output]"


def truncate(text: str, limit: int) -> tuple[str, bool]:
    """Keep the head and the tail; say how much was cut."""
    if len(text) <= limit:
        return text, False
    head = limit * 2 // 3
    tail = limit - head
    cut = len(text) - head - tail
    return f"{text[:head]}\n[... {cut} characters truncated ...]\n{text[-tail:]}", True


@lru_cache(maxsize=1)
def network_isolation_available() -> bool:
    """True when `unshare -rn` can run a process without network (Linux user namespaces)."""
    exe = shutil.which("unshare")
    if exe is None:
        return False
    try:
        probe = subprocess.run([exe, "-rn", "true"], capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return probe.returncode == 0


def _limits(cfg: SandboxConfig):
    def apply() -> None:
        import resource

        os.setsid()  # own process group: the whole tree is killed on timeout
        mem = cfg.memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        resource.setrlimit(resource.RLIMIT_CPU, (cfg.cpu_seconds, cfg.cpu_seconds + 1))
        size = cfg.max_file_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


def _command(cfg: SandboxConfig, script: str) -> tuple[List[str], bool]:
    python = cfg.python or sys.executable
    # -I: ignore PYTHON* variables and the user site; -B: no .pyc files
    cmd = [python, "-I", "-B", script]
    if cfg.block_network and network_isolation_available():
        return [shutil.which("unshare") or "unshare", "-rn", *cmd], True
    return cmd, False


def minimal_env(home: str) -> dict:
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": home, "TMPDIR": home, "LANG": "C.UTF-8",
            "PYTHONIOENCODING": "utf-8", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
            "MPLBACKEND": "Agg"}


async def run_python(code: str, cfg: SandboxConfig, *, stdin: Optional[str] = None) -> SandboxResult:
    """Run ``code`` as a script in a fresh sandboxed process."""
    with tempfile.TemporaryDirectory(prefix="critpt-sandbox-") as workdir:
        script = os.path.join(workdir, "main.py")
        with open(script, "w", encoding="utf-8") as f:
            f.write(code)
        cmd, isolated = _command(cfg, script)
        start = time.perf_counter()
        proc = await asyncio.create_subprocess_exec(
            *cmd, cwd=workdir, env=minimal_env(workdir), stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, preexec_fn=_limits(cfg),
        )
        timed_out = False
        try:
            out, err = await asyncio.wait_for(proc.communicate(stdin.encode() if stdin else None), cfg.timeout)
        except asyncio.TimeoutError:
            timed_out = True
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            out, err = await proc.communicate()
        duration = time.perf_counter() - start
    stdout, cut_out = truncate(out.decode("utf-8", "replace"), cfg.max_output_chars)
    stderr, cut_err = truncate(err.decode("utf-8", "replace"), cfg.max_output_chars)
    return SandboxResult(stdout=stdout, stderr=stderr, exit_code=proc.returncode, timed_out=timed_out,
                         duration_s=round(duration, 3), truncated=cut_out or cut_err, network_blocked=isolated)
