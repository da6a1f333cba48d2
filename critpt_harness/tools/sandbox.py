"""Run model-written Python outside this process, isolated and with limits.

Every call (a python tool call, the execution checks of an epoch, a local
grading) gets a fresh process, a fresh temporary directory as its working
directory, a minimal environment (no API keys), a wall-clock time limit and
memory, CPU-time, file-size and process-count limits. How much of the machine
the code can see depends on ``SandboxConfig.backend``; each result records the
isolation that was actually in force (``SandboxResult.isolation``):

``bwrap``
    bubblewrap: new user/pid/ipc/uts/network namespaces (no network), a new
    session, an empty root filesystem holding only read-only binds of ``/usr``,
    the interpreter's own directories (prefix, base prefix, site-packages) and
    the few ``/etc`` files the dynamic loader reads; a tmpfs ``/tmp`` and a tmpfs
    home; the call's temporary directory (read-write) as ``/sandbox``. When the
    code needs this package (execution checks, the judge) only the package
    directory itself is bound, read-only, at ``/opt/critpt/critpt_harness`` --
    never the checkout around it. The working directory, the home directory,
    ``.env``, the run folders, the cache and the ledger do not exist inside.
    ``RLIMIT_NPROC`` bounds the processes. As root (where the kernel exempts
    uid 0 from that limit) the code is started as the unprivileged uid 65534;
    the limit then counts every process of that uid, so sandboxes running at
    once share it (and bwrap runs privileged, without a user namespace).
``docker``
    a throwaway container per call (``--network none``, read-only root,
    tmpfs ``/tmp`` and home, only the temporary directory -- and, for checks
    and the judge, the package directory read-only -- mounted, memory/pids/CPU
    limits, no capabilities, uid 65534 as root, else the caller's uid); the
    image is ``SandboxConfig.docker_image`` and needs python3 with numpy,
    scipy and sympy.
``subprocess``
    the fallback: a child process with setrlimit limits and, where ``unshare
    -rn`` works, no network. It does NOT isolate the filesystem: the code can
    read and write whatever the user running the harness can (``.env`` in the
    working directory, the home directory, the run folders). ``auto`` falls
    back to it, with a warning, only when bwrap cannot run on this machine.

A limit that could not be set is named in ``SandboxResult.limits_not_set``.
Model code never runs in the harness's own process.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Dict, List, Optional, Tuple

from ..config.sandbox import BACKENDS, SandboxConfig
from ..errors import HarnessError
from .backends import NOBODY, WORKDIR, bwrap_command, docker_command, is_root, minimal_env, package_path

log = logging.getLogger(__name__)

_MARK = "@@critpt-sandbox@@ "


@dataclass
class SandboxResult:
    stdout: str
    stderr: str
    exit_code: Optional[int]
    timed_out: bool
    duration_s: float
    truncated: bool
    network_blocked: bool
    # The isolation in force for this call: bwrap | subprocess | docker.
    isolation: str = "subprocess"
    # Limits that could not be set, each with the reason ("max_processes: ...").
    limits_not_set: List[str] = field(default_factory=list)

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

    def record(self) -> Dict[str, Any]:
        """The isolation facts a record keeps (tool calls, checks, gradings)."""
        return {"isolation": self.isolation, "network_blocked": self.network_blocked,
                "limits_not_set": list(self.limits_not_set)}


class SandboxUnavailable(HarnessError):
    """The configured backend cannot run on this machine."""


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


# ---------------------------------------------------------------- inside the sandbox

# Runs first inside the sandbox (bwrap, subprocess): drops to an unprivileged uid when
# asked, sets RLIMIT_NPROC (inside the new user namespace, where it counts only the
# sandbox's processes), reports on stderr what it could not do, then becomes the script.
_LAUNCHER = """\
import os, sys, json, resource
nproc, uid, why = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
notes = [why] if why else []
if uid >= 0:
    try:
        os.setgroups([]); os.setresgid(uid, uid, uid); os.setresuid(uid, uid, uid)
    except OSError as exc:
        notes.append("max_processes: could not leave uid 0 (%s): not enforced for root" % exc)
if not notes:
    try:
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
    except (OSError, ValueError) as exc:
        notes.append("max_processes: setrlimit failed (%s)" % exc)
sys.stderr.write(@MARK@ + json.dumps(notes) + "\\n"); sys.stderr.flush()
os.execv(sys.executable, [sys.executable, "-I", "-B"] + sys.argv[4:])
""".replace("@MARK@", repr(_MARK))


def _split_report(stderr: str) -> Tuple[str, List[str], bool]:
    """(stderr without the launcher's line, limits it could not set, whether it ran)."""
    first, _, rest = stderr.partition("\n")
    if not first.startswith(_MARK):
        return stderr, [], False
    try:
        notes = [str(n) for n in json.loads(first[len(_MARK):])]
    except ValueError:
        notes = []
    return rest, notes, True


# ---------------------------------------------------------------- harness side

@lru_cache(maxsize=8)
def bwrap_problem(python: str) -> Optional[str]:
    """None when a bwrap sandbox runs here (probed once per interpreter), else why not."""
    if shutil.which("bwrap") is None:
        return "bwrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    with tempfile.TemporaryDirectory(prefix="critpt-probe-") as workdir:
        if is_root():
            os.chown(workdir, NOBODY, NOBODY)
        probe = "import os; open('probe', 'w').write('ok'); print(os.getcwd())"
        cmd = bwrap_command(python, workdir, SandboxConfig(), False,
                             ["-I", "-c", _LAUNCHER, "64", str(NOBODY if is_root() else -1), "", "-c", probe],
                             is_root())
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError) as exc:
            return f"bwrap could not start: {exc}"
        stderr, notes, _ = _split_report(out.stderr)
        if out.returncode != 0 or out.stdout.strip() != WORKDIR or not os.path.exists(os.path.join(workdir, "probe")):
            return f"bwrap fails here (exit {out.returncode}): {stderr.strip()[-300:] or out.stdout.strip()[-300:]}"
        if notes:
            return f"bwrap runs, but {'; '.join(notes)}"
    return None


_warned: set = set()


def resolve_backend(cfg: SandboxConfig) -> str:
    """The backend a call uses: ``auto`` is bwrap where it works, else subprocess (warned once).
    Raises SandboxUnavailable when an explicitly chosen backend cannot run here."""
    python = cfg.python or sys.executable
    if cfg.backend in ("auto", "bwrap"):
        problem = bwrap_problem(python) if sys.platform.startswith("linux") else "bwrap needs Linux"
        if problem is None:
            return "bwrap"
        if cfg.backend == "bwrap":
            raise SandboxUnavailable(f"sandbox.backend=bwrap, but {problem}; use sandbox.backend=auto to fall "
                                     "back to the subprocess sandbox (which does not isolate the filesystem)")
        if problem not in _warned:
            _warned.add(problem)
            log.warning("sandbox: %s. Model-written code runs in the subprocess fallback, which does NOT hide "
                        "the working directory, .env or the run folders from it.", problem)
        return "subprocess"
    if cfg.backend == "docker" and shutil.which("docker") is None:
        raise SandboxUnavailable("sandbox.backend=docker, but the docker command is not installed")
    if cfg.backend not in BACKENDS:
        raise SandboxUnavailable(f"sandbox.backend={cfg.backend!r}: use one of {', '.join(BACKENDS)}")
    return cfg.backend


def _limits(cfg: SandboxConfig, rlimits: bool) -> Callable[[], None]:
    def apply() -> None:
        import resource

        os.setsid()  # own process group: the whole tree is killed on timeout
        if not rlimits:
            return
        mem = cfg.memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        resource.setrlimit(resource.RLIMIT_CPU, (cfg.cpu_seconds, cfg.cpu_seconds + 1))
        size = cfg.max_file_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


async def run_python(code: str, cfg: SandboxConfig, *, stdin: Optional[str] = None,
                     with_package: bool = False) -> SandboxResult:
    """Run ``code`` as a script in a fresh sandbox. ``with_package``: the code may
    ``import critpt_harness`` (only the package directory is made visible, read-only)."""
    backend = resolve_backend(cfg)
    if with_package:
        code = f"import sys\nsys.path.insert(0, {package_path(backend)!r})\n" + code
    python = cfg.python or sys.executable
    root = is_root()
    notes: List[str] = []
    name = f"critpt-sandbox-{uuid.uuid4().hex[:12]}"
    with tempfile.TemporaryDirectory(prefix="critpt-sandbox-") as workdir:
        script = os.path.join(workdir, "main.py")
        with open(script, "w", encoding="utf-8") as f:
            f.write(code)
        network_blocked = False
        env = minimal_env(workdir)
        if backend == "docker":
            if root:
                os.chown(workdir, NOBODY, NOBODY)
            cmd = docker_command(workdir, cfg, with_package, name)
            network_blocked = cfg.block_network
        else:
            nproc_why = ""
            uid = -1
            if backend == "bwrap":
                uid = NOBODY if root else -1
                if root:
                    os.chown(workdir, NOBODY, NOBODY)
                inner_script = f"{WORKDIR}/main.py"
                network_blocked = cfg.block_network
            else:
                inner_script = script
                network_blocked = cfg.block_network and network_isolation_available()
                if root:
                    nproc_why = "max_processes: not enforced (the subprocess sandbox runs as root, which the " \
                                "kernel exempts)"
                elif not network_blocked:
                    nproc_why = "max_processes: not set (no user namespace: the limit would count every process " \
                                "of this user)"
            argv = ["-I", "-c", _LAUNCHER, str(cfg.max_processes), str(uid), nproc_why, inner_script]
            if backend == "bwrap":
                cmd = bwrap_command(python, workdir, cfg, with_package, argv, root)
            else:
                cmd = [python, *argv]
                if network_blocked:
                    cmd = [shutil.which("unshare") or "unshare", "-rn", *cmd]
        start = time.perf_counter()
        proc = await asyncio.create_subprocess_exec(
            *cmd, cwd=workdir, env=env if backend != "docker" else {**env, "PATH": os.environ.get("PATH", "")},
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            preexec_fn=_limits(cfg, rlimits=backend != "docker"),
        )
        timed_out = False
        try:
            out, err = await asyncio.wait_for(proc.communicate(stdin.encode() if stdin else None), cfg.timeout)
        except asyncio.TimeoutError:
            timed_out = True
            if backend == "docker":
                await _docker_kill(name)
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            out, err = await proc.communicate()
        duration = time.perf_counter() - start
    err_text = err.decode("utf-8", "replace")
    if backend != "docker":
        err_text, found, ran = _split_report(err_text)
        notes += found
        if not ran and not timed_out:
            notes.append("max_processes: unknown (the sandbox launcher did not report)")
    stdout, cut_out = truncate(out.decode("utf-8", "replace"), cfg.max_output_chars)
    stderr, cut_err = truncate(err_text, cfg.max_output_chars)
    return SandboxResult(stdout=stdout, stderr=stderr, exit_code=proc.returncode, timed_out=timed_out,
                         duration_s=round(duration, 3), truncated=cut_out or cut_err,
                         network_blocked=network_blocked, isolation=backend, limits_not_set=notes)


async def _docker_kill(name: str) -> None:
    try:
        killer = await asyncio.create_subprocess_exec("docker", "kill", name, stdout=asyncio.subprocess.DEVNULL,
                                                      stderr=asyncio.subprocess.DEVNULL)
        await asyncio.wait_for(killer.wait(), 30)
    except (OSError, asyncio.TimeoutError):
        pass
