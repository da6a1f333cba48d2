"""The landlock backend: a child process confined between fork and exec (no extra process).

In the child, in order: a new session, the rlimits (memory, CPU time, file size, no core
files), as root the drop to uid 65534, ``RLIMIT_NPROC``, a seccomp filter (``seccompy``) and a
Landlock ruleset (``landlockpy``), both built in the harness before the fork. Landlock needs no
namespace and no privilege (kernel >= 5.13), so it also confines where bubblewrap cannot run
(unprivileged user namespaces disabled, containers without CAP_SYS_ADMIN). What it allows:

- read and execute: ``/usr``, ``/bin``, ``/lib*``, the loader's ``/etc`` files, the interpreter's
  own directories (those bwrap would bind) and, for the checks and the judge, this package;
- everything inside the call's own folder (its working directory, home and temporary folder);
- read and write ``/dev/null``, ``/dev/zero``, ``/dev/random``, ``/dev/urandom``;
- nothing else: not ``/proc`` (no other process's environment or working directory), not the
  working directory, home, run folders, cache or ledger, not ``/tmp`` outside the folder.

Signals and abstract unix sockets are scoped to the sandbox (Landlock ABI 6), TCP is denied
(ABI 4), and the seccomp filter makes ``socket()`` fail for every family (only ``socketpair``
works; with ``block_network=false`` only unix sockets are refused), which also closes the
user's own unix sockets (D-Bus, ssh-agent, docker) that Landlock before ABI 9 leaves open, and
``io_uring_setup`` (its sockets pass by seccomp). Landlock limits no processes: as root the code
runs as uid 65534 so that ``RLIMIT_NPROC`` applies (the interpreter must then be readable by
that uid); the child makes a user namespace where it may, so that the limit counts only the
sandbox's tasks, and elsewhere the limit is set above the tasks that uid already runs.
"""

from __future__ import annotations

import errno
import os
import resource
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, List, Optional, Tuple

from ..config.sandbox import SandboxConfig
from .backends import NOBODY, readable_paths

DEVICES = ("/dev/null", "/dev/zero", "/dev/random", "/dev/urandom")
# Syscall numbers the filter refuses besides socket(): io_uring_setup (425 on every arch), and on
# x86_64 the x32 ABI's socket and io_uring_setup (same audit arch, bit 30 set).
_IO_URING_SETUP = 425
_X32 = 0x40000000


@lru_cache(maxsize=1)
def landlock_problem() -> Optional[str]:
    """None when this kernel and install can confine with Landlock, else why not (asked once)."""
    if not sys.platform.startswith("linux"):
        return "Landlock needs Linux"
    try:
        import landlockpy
        import seccompy
    except ImportError as exc:
        return f"the landlockpy/seccompy packages are not installed ({exc}); pip install -e . installs them"
    try:
        abi = landlockpy.abi_version()
    except OSError as exc:
        return f"Landlock cannot be queried here ({exc})"
    if abi < 1:
        return "the kernel has no Landlock (Linux >= 5.13 with landlock in the lsm= boot list)"
    if not seccompy.supported():
        return "the kernel cannot install seccomp filters"
    try:
        seccompy.audit_arch()
    except (OSError, ValueError) as exc:
        return f"no seccomp filter for this architecture ({exc})"
    return None


def landlock_abi() -> int:
    import landlockpy

    return int(landlockpy.abi_version())


CLONE_NEWUSER = 0x10000000


@lru_cache(maxsize=1)
def _libc_unshare() -> Any:
    import ctypes

    return ctypes.CDLL(None, use_errno=True).unshare


def _new_user_namespace() -> None:
    """unshare(CLONE_NEWUSER) from the child: RLIMIT_NPROC then counts only the sandbox's tasks."""
    if _libc_unshare()(CLONE_NEWUSER) != 0:
        import ctypes

        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWUSER) failed")


@lru_cache(maxsize=2)
def user_namespaces(as_root: bool) -> bool:
    """Whether the child (as uid 65534 when ``as_root``) may make a user namespace here (asked once)."""
    import subprocess

    try:  # the same steps a landlock child takes (preexec), up to the namespace
        child = preexec(Confinement(uid=NOBODY if as_root else -1, userns=True))
        return subprocess.run(["/bin/true"], preexec_fn=child, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


@lru_cache(maxsize=2)
def socket_filter(block_network: bool) -> Any:
    """A seccomp filter: socket() fails with EACCES (every family, or only AF_UNIX when the
    network is allowed); io_uring_setup too. Compiled once; each child loads its own copy."""
    import socket

    import seccompy

    filt = seccompy.Filter(seccompy.Action.ALLOW)
    args = None if block_network else {0: int(socket.AF_UNIX)}
    numbers: List[Any] = ["socket"]
    if seccompy.arch() == "x86_64":
        numbers.append(_X32 | seccompy.syscall_nr("socket"))
    for nr in numbers:
        filt.errno(nr, errno.EACCES, args=args)
    for nr in (_IO_URING_SETUP, _X32 | _IO_URING_SETUP) if seccompy.arch() == "x86_64" else (_IO_URING_SETUP,):
        filt.errno(nr, errno.ENOSYS)
    filt.program  # compile now, in the harness, not after the fork
    return filt


def ruleset(readable: List[str], writable: str, block_network: bool) -> Any:
    """A Landlock ruleset handling every right this kernel knows; allowed: ``readable`` to read
    and execute, ``writable`` (the call's folder) fully, the harmless devices to read and write."""
    from landlockpy import AccessFS, AccessNet, Ruleset, Scope

    rules = Ruleset(scoped=Scope.SIGNAL | Scope.ABSTRACT_UNIX_SOCKET,
                    handled_net=None if block_network else AccessNet.NONE)
    try:
        read_file = AccessFS.EXECUTE | AccessFS.READ_FILE  # a rule on a file must not carry READ_DIR
        for path in readable:
            rules.allow_path(path, read_file | AccessFS.READ_DIR if os.path.isdir(path) else read_file)
        for device in DEVICES:
            if os.path.exists(device):
                rules.allow_path(device, AccessFS.READ_FILE | AccessFS.WRITE_FILE | AccessFS.TRUNCATE)
        rules.allow_path(writable, rules.handled_fs)
    except BaseException:
        rules.close()
        raise
    return rules


def tasks_of(uid: int) -> int:
    """Tasks (processes and threads) the uid runs now: RLIMIT_NPROC counts them all."""
    count = 0
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if os.stat(f"/proc/{name}").st_uid == uid:
                    count += len(os.listdir(f"/proc/{name}/task"))
            except OSError:
                continue
    return count


def rlimits(cfg: SandboxConfig) -> List[Tuple[int, int, int]]:
    mem = cfg.memory_mb * 1024 * 1024
    size = cfg.max_file_mb * 1024 * 1024
    return [(resource.RLIMIT_AS, mem, mem), (resource.RLIMIT_CPU, cfg.cpu_seconds, cfg.cpu_seconds + 1),
            (resource.RLIMIT_FSIZE, size, size), (resource.RLIMIT_CORE, 0, 0)]


@dataclass
class Confinement:
    """What a child applies to itself before exec (see :func:`preexec`)."""

    limits: List[Tuple[int, int, int]] = field(default_factory=list)
    uid: int = -1  # >= 0: become this uid (and its gid, no supplementary groups)
    userns: bool = False  # a new user namespace (then RLIMIT_NPROC counts only the sandbox)
    nproc: int = 0  # > 0: RLIMIT_NPROC
    seccomp: Any = None  # a seccompy.Filter
    landlock: Any = None  # a landlockpy.Ruleset, closed by close()

    def close(self) -> None:
        if self.landlock is not None:
            self.landlock.close()


def landlock_confinement(cfg: SandboxConfig, python: str, workdir: str, with_package: bool,
                         as_root: bool) -> Confinement:
    userns = user_namespaces(as_root)
    # Without a user namespace the limit counts every task of the uid: allow that many more.
    nproc = cfg.max_processes if userns else tasks_of(NOBODY if as_root else os.getuid()) + cfg.max_processes
    rules = ruleset(readable_paths(python, with_package), workdir, cfg.block_network)
    return Confinement(limits=rlimits(cfg), uid=NOBODY if as_root else -1, userns=userns, nproc=nproc,
                       seccomp=socket_filter(cfg.block_network), landlock=rules)


def preexec(conf: Confinement) -> Callable[[], None]:
    """The function the child runs between fork and exec: everything it calls is resolved
    already (no import, no allocation-heavy work after the fork); any failure stops the spawn."""
    setrlimit, limits, uid, nproc = resource.setrlimit, conf.limits, conf.uid, conf.nproc
    seccomp, landlock = conf.seccomp, conf.landlock
    userns = _new_user_namespace if conf.userns else None
    if userns is not None:
        _libc_unshare()  # resolved here, not after the fork

    def apply() -> None:
        os.setsid()  # own process group: the whole tree is killed on timeout
        for what, soft, hard in limits:
            setrlimit(what, (soft, hard))
        if uid >= 0:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
        if userns is not None:
            userns()
        if nproc:
            setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
        if seccomp is not None:
            seccomp.load()
        if landlock is not None:
            landlock.restrict()

    return apply
