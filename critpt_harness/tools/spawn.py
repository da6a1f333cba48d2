"""Start one sandboxed process for a backend already chosen (sandbox.py chooses): a fresh
temporary folder, a minimal environment, the limits, the wall-clock limit, and what ran.

One interpreter start per call: under bwrap and subprocess a short launcher (the same
interpreter) drops privileges, sets ``RLIMIT_NPROC`` where it counts only the sandbox and then
runs the script in itself; under landlock the child confines itself before exec (confine.py).
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
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Dict, List, Optional, Tuple

from ..config.sandbox import SandboxConfig
from ..errors import HarnessError
from ..fidelity import UNISOLATED
from ..netio import within
from .backends import (NOBODY, WORKDIR, bwrap_command, closed_to_others, docker_command, is_root, minimal_env,
                       package_path)
from .confine import Confinement, landlock_confinement, preexec, rlimits

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
    # The isolation in force for this call: bwrap | landlock | subprocess | docker.
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
        out: Dict[str, Any] = {"isolation": self.isolation, "network_blocked": self.network_blocked,
                               "limits_not_set": list(self.limits_not_set)}
        if self.isolation == "subprocess":
            out["unisolated"] = UNISOLATED
        return out


class SandboxUnavailable(HarnessError):
    """No backend that isolates can run here, or the one named cannot."""


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


# Runs first inside the sandbox (bwrap, subprocess): sets the rlimits, drops to an unprivileged uid
# when asked, sets RLIMIT_NPROC (inside the new user namespace, where it counts only the sandbox's
# processes), reports on stderr what it could not do, then runs the script in this interpreter.
_LAUNCHER = """\
import os, sys, resource
nproc, uid, why, script = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
for limit in sys.argv[5].split(","):
    what, soft, hard = map(int, limit.split(":"))
    resource.setrlimit(what, (soft, hard))
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
sys.stderr.write(@MARK@ + repr(notes) + "\\n"); sys.stderr.flush()
sys.argv = [script]
with open(script, "rb") as f:
    code = compile(f.read(), script, "exec")
try:
    exec(code, {"__name__": "__main__", "__file__": script, "__builtins__": __builtins__})
except BaseException as exc:
    if isinstance(exc, SystemExit):
        raise
    import traceback
    traceback.print_exception(type(exc), exc, exc.__traceback__.tb_next)
    sys.exit(1)
""".replace("@MARK@", repr(_MARK))


def _split_report(stderr: str) -> Tuple[str, List[str], bool]:
    """(stderr without the launcher's line, limits it could not set, whether it ran)."""
    first, _, rest = stderr.partition("\n")
    if not first.startswith(_MARK):
        return stderr, [], False
    try:
        import ast

        notes = [str(n) for n in ast.literal_eval(first[len(_MARK):])]
    except (ValueError, SyntaxError):
        notes = []
    return rest, notes, True


async def spawn(backend: str, code: str, cfg: SandboxConfig, *, stdin: Optional[str] = None,
                with_package: bool = False, bwrap: str = "") -> SandboxResult:
    """Run ``code`` as a script under ``backend`` (``bwrap``: the executable to use)."""
    python = cfg.python or sys.executable
    root = is_root()
    notes: List[str] = []
    name = f"critpt-sandbox-{uuid.uuid4().hex[:12]}"
    conf: Optional[Confinement] = None
    with tempfile.TemporaryDirectory(prefix="critpt-sandbox-") as workdir:
        if with_package:
            code = f"import sys\nsys.path.insert(0, {package_path(backend, workdir)!r})\n" + code
        script = os.path.join(workdir, "main.py")
        with open(script, "w", encoding="utf-8") as f:
            f.write(code)
        if root and backend in ("bwrap", "docker", "landlock"):
            os.chown(workdir, NOBODY, NOBODY)
        env = minimal_env(workdir)
        network_blocked = cfg.block_network
        if backend == "docker":
            cmd = docker_command(workdir, cfg, with_package, name)
            env = {**env, "PATH": os.environ.get("PATH", "")}
        elif backend == "landlock":
            conf = landlock_confinement(cfg, python, workdir, with_package, root)
            cmd = [python, "-I", "-B", script]
        else:
            nproc_why, uid = "", -1
            if backend == "bwrap":
                uid = NOBODY if root else -1
                inner_script = f"{WORKDIR}/main.py"
            else:
                inner_script = script
                network_blocked = cfg.block_network and network_isolation_available()
                if root:
                    nproc_why = "max_processes: not enforced (the subprocess sandbox runs as root, which the " \
                                "kernel exempts)"
                elif not network_blocked:
                    nproc_why = "max_processes: not set (no user namespace: the limit would count every process " \
                                "of this user)"
            argv = ["-I", "-B", "-c", _LAUNCHER, str(cfg.max_processes), str(uid), nproc_why, inner_script,
                    ",".join(f"{what}:{soft}:{hard}" for what, soft, hard in rlimits(cfg))]
            if backend == "bwrap":
                cmd = bwrap_command(bwrap or "bwrap", python, workdir, cfg, with_package, argv, root)
            else:
                cmd = [python, *argv]
                if network_blocked:
                    cmd = [shutil.which("unshare") or "unshare", "-rn", *cmd]
            conf = None  # the launcher sets the limits: no Python between fork and exec here (vfork)
        start = time.perf_counter()
        try:
            proc = await asyncio.create_subprocess_exec(
                *cmd, cwd=workdir, env=env, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, start_new_session=conf is None,  # own group: killed as a whole
                preexec_fn=preexec(conf) if conf is not None else None)
        except (OSError, subprocess.SubprocessError) as exc:
            raise SandboxUnavailable(f"the {backend} sandbox could not start {cmd[0]}: {_start_error(exc, root)}") from None
        finally:
            if conf is not None:
                conf.close()
        timed_out = False
        talk = asyncio.ensure_future(proc.communicate(stdin.encode() if stdin else None))
        try:
            # within, not wait_for: a Ctrl-C as the code ends is never swallowed (netio.within)
            await within(asyncio.shield(proc.wait()), cfg.timeout)
            _kill_group(proc.pid)  # what the code left running (without a pid namespace) ends with it
            out, err = await within(asyncio.shield(talk), max(1.0, cfg.timeout - (time.perf_counter() - start)))
        except asyncio.TimeoutError:
            timed_out = True
            if backend == "docker":
                await _docker_kill(name)
            _kill_group(proc.pid)
            out, err = await talk
        duration = time.perf_counter() - start
    err_text = err.decode("utf-8", "replace")
    if backend in ("bwrap", "subprocess"):
        err_text, found, ran = _split_report(err_text)
        notes += found
        if not ran and not timed_out:
            notes.append("max_processes: unknown (the sandbox launcher did not report)")
    stdout, cut_out = truncate(out.decode("utf-8", "replace"), cfg.max_output_chars)
    stderr, cut_err = truncate(err_text, cfg.max_output_chars)
    return SandboxResult(stdout=stdout, stderr=stderr, exit_code=proc.returncode, timed_out=timed_out,
                         duration_s=round(duration, 3), truncated=cut_out or cut_err,
                         network_blocked=network_blocked, isolation=backend, limits_not_set=notes)


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _start_error(exc: BaseException, root: bool) -> str:
    text = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, PermissionError) and root:
        closed = closed_to_others(exc.filename) if isinstance(exc.filename, str) else None
        where = f"{closed} is not open to other users" if closed else ("a directory on its path, such as a "
                                                                        "home directory, is not readable by that uid")
        text += f" (the code runs as uid {NOBODY}, which cannot reach it: {where})"
    return text


async def _docker_kill(name: str) -> None:
    try:
        killer = await asyncio.create_subprocess_exec("docker", "kill", name, stdout=asyncio.subprocess.DEVNULL,
                                                      stderr=asyncio.subprocess.DEVNULL)
        await asyncio.wait_for(killer.wait(), 30)
    except (OSError, asyncio.TimeoutError):
        pass
