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
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

from ..config.sandbox import BACKENDS, SandboxConfig
from ..errors import HarnessError

log = logging.getLogger(__name__)

# Where the sandbox sees its working directory, home and (read-only) this package.
WORKDIR = "/sandbox"
HOME = "/home/sandbox"
PACKAGE_ROOT = "/opt/critpt"
PACKAGE_DIR = str(Path(__file__).resolve().parent.parent)
# The unprivileged user the code runs as when the harness runs as root (bwrap, docker).
NOBODY = 65534
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


def minimal_env(home: str, tmp: Optional[str] = None) -> dict:
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": home, "TMPDIR": tmp or home, "LANG": "C.UTF-8",
            "PYTHONIOENCODING": "utf-8", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
            "MPLBACKEND": "Agg"}


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
def _interpreter(python: str) -> Dict[str, Any]:
    """What an interpreter needs to run: its prefixes and site-packages (asked once)."""
    if python == sys.executable:
        import site

        return {"prefixes": sorted({sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}),
                "site": [p for p in site.getsitepackages() if os.path.isdir(p)],
                "executable": sys.executable}
    code = ("import sys, site, json; print(json.dumps({'prefixes': sorted({sys.prefix, sys.base_prefix, "
            "sys.exec_prefix, sys.base_exec_prefix}), 'site': site.getsitepackages(), 'executable': sys.executable}))")
    out = subprocess.run([python, "-I", "-c", code], capture_output=True, text=True, timeout=30, check=True)
    return json.loads(out.stdout)


def _is_within(path: str, parent: str) -> bool:
    try:
        return os.path.commonpath([os.path.realpath(path), os.path.realpath(parent)]) == os.path.realpath(parent)
    except ValueError:
        return False


def _private_places() -> List[str]:
    """Directories whose contents must never be bound: the working directory, the
    home directory and the checkout around this package (.env, runs/, the cache)."""
    places = [os.getcwd(), str(Path.home()), str(Path(PACKAGE_DIR).parent)]
    return [p for p in places if p not in ("/", "")]


def _python_binds(python: str) -> List[Tuple[str, str]]:
    """Read-only binds (source, destination) the interpreter needs outside /usr:
    <prefix>/{bin,lib,lib64,pyvenv.cfg} of each prefix and the site-packages
    directories. Never a directory that holds the working directory, the home
    directory or the checkout (a venv inside the checkout is bound, not the checkout)."""
    info = _interpreter(python)
    wanted: List[str] = []
    for prefix in info["prefixes"]:
        wanted += [os.path.join(prefix, part) for part in ("bin", "lib", "lib64", "pyvenv.cfg")]
    wanted += list(info["site"])
    wanted += [os.path.dirname(os.path.abspath(python)), os.path.dirname(os.path.realpath(info["executable"]))]
    private = _private_places()
    binds: Dict[str, str] = {}
    for path in wanted:
        dest, real = os.path.abspath(path), os.path.realpath(path)
        if not os.path.exists(real) or _is_within(dest, "/usr") or dest in binds:
            continue
        if any(_is_within(p, real) for p in private):
            log.warning("sandbox: not binding %s: it holds the working directory, home or checkout", real)
            continue
        binds[dest] = real
    # Parents first, so a nested bind is not hidden by its parent's.
    return sorted(((real, dest) for dest, real in binds.items()), key=lambda b: b[1])


def _bwrap_command(python: str, workdir: str, cfg: SandboxConfig, with_package: bool, argv: List[str],
                   as_root: bool) -> List[str]:
    exe = shutil.which("bwrap") or "bwrap"
    cmd = [exe, "--die-with-parent", "--new-session"]
    if as_root:
        # uid 0 ignores RLIMIT_NPROC: no user namespace (bwrap runs privileged), every
        # other namespace, and only the capabilities the launcher needs to become NOBODY.
        cmd += ["--unshare-ipc", "--unshare-pid", "--unshare-uts", "--unshare-cgroup-try",
                "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        if cfg.block_network:
            cmd.append("--unshare-net")
    else:
        cmd.append("--unshare-all")
        if not cfg.block_network:
            cmd.append("--share-net")
    cmd += ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            cmd += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            cmd += ["--ro-bind", top, top]
    for etc in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime", "/etc/alternatives"):
        cmd += ["--ro-bind-try", etc, etc]
    cmd += ["--proc", "/proc", "--dev", "/dev",
            "--perms", "1777", "--tmpfs", "/tmp", "--perms", "0777", "--tmpfs", HOME]
    binds = _python_binds(python)
    if with_package:
        binds.append((PACKAGE_DIR, f"{PACKAGE_ROOT}/critpt_harness"))
    # Parent directories bwrap would otherwise create as 0700 (unreadable once the code is NOBODY).
    parents = {str(parent) for _, dest in binds for parent in Path(dest).parents if str(parent) != "/"}
    for parent in sorted(parents, key=lambda p: (p.count("/"), p)):
        if not any(_is_within(parent, top) for top in ("/usr", "/tmp", "/proc", "/dev")):
            cmd += ["--perms", "0755", "--dir", parent]
    for source, dest in binds:
        cmd += ["--ro-bind", source, dest]
    cmd += ["--bind", workdir, WORKDIR, "--chdir", WORKDIR, "--clearenv"]
    for key, value in minimal_env(HOME, "/tmp").items():
        cmd += ["--setenv", key, value]
    return cmd + ["--", python, *argv]


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


@lru_cache(maxsize=8)
def bwrap_problem(python: str) -> Optional[str]:
    """None when a bwrap sandbox runs here (probed once per interpreter), else why not."""
    if shutil.which("bwrap") is None:
        return "bwrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    with tempfile.TemporaryDirectory(prefix="critpt-probe-") as workdir:
        if _is_root():
            os.chown(workdir, NOBODY, NOBODY)
        probe = "import os; open('probe', 'w').write('ok'); print(os.getcwd())"
        cmd = _bwrap_command(python, workdir, SandboxConfig(), False,
                             ["-I", "-c", _LAUNCHER, "64", str(NOBODY if _is_root() else -1), "", "-c", probe],
                             _is_root())
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


def _docker_user() -> str:
    """uid 65534 when the harness runs as root (the folder is chowned to it), else the
    caller's own uid, which owns the folder."""
    return f"{NOBODY}:{NOBODY}" if _is_root() else f"{os.getuid()}:{os.getgid()}"


def _docker_command(workdir: str, cfg: SandboxConfig, with_package: bool, name: str) -> List[str]:
    cmd = ["docker", "run", "--rm", "-i", "--name", name, "--read-only", "--cap-drop", "ALL",
           "--security-opt", "no-new-privileges", "--user", _docker_user(),
           "--tmpfs", "/tmp:rw,nosuid,nodev,size=256m", "--tmpfs", f"{HOME}:rw,nosuid,nodev,size=64m",
           "--memory", f"{cfg.memory_mb}m", "--memory-swap", f"{cfg.memory_mb}m",
           "--pids-limit", str(cfg.max_processes), "--cpus", "1",
           "--ulimit", f"cpu={cfg.cpu_seconds}:{cfg.cpu_seconds + 1}",
           "--ulimit", f"fsize={cfg.max_file_mb * 1024 * 1024}", "--ulimit", "core=0",
           "-v", f"{workdir}:{WORKDIR}:rw", "-w", WORKDIR]
    if cfg.block_network:
        cmd += ["--network", "none"]
    if with_package:
        cmd += ["-v", f"{PACKAGE_DIR}:{PACKAGE_ROOT}/critpt_harness:ro"]
    for key, value in minimal_env(HOME, "/tmp").items():
        cmd += ["-e", f"{key}={value}"]
    return cmd + [cfg.docker_image, "python3", "-I", "-B", f"{WORKDIR}/main.py"]


def package_path(backend: str) -> str:
    """Where this package's parent directory is inside a sandbox of ``backend``."""
    return str(Path(PACKAGE_DIR).parent) if backend == "subprocess" else PACKAGE_ROOT


async def run_python(code: str, cfg: SandboxConfig, *, stdin: Optional[str] = None,
                     with_package: bool = False) -> SandboxResult:
    """Run ``code`` as a script in a fresh sandbox. ``with_package``: the code may
    ``import critpt_harness`` (only the package directory is made visible, read-only)."""
    backend = resolve_backend(cfg)
    if with_package:
        code = f"import sys\nsys.path.insert(0, {package_path(backend)!r})\n" + code
    python = cfg.python or sys.executable
    root = _is_root()
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
            cmd = _docker_command(workdir, cfg, with_package, name)
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
                cmd = _bwrap_command(python, workdir, cfg, with_package, argv, root)
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
