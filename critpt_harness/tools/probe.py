"""The hostile probe: code that tries what model code must not manage, run in one backend;
each attempt is judged on the harness side (a "held" row) and the table says which held.

The probe never reports what it read: only a digest, compared here with what the harness
itself sees at the same path (a folder of the same name inside a bwrap sandbox is another
folder). It runs once per backend and process to choose the backend (sandbox.py), and in
full (with the wall-clock limit) for ``critpt-harness check-sandbox``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import socket
import tempfile
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

from ..config.sandbox import SandboxConfig
from .backends import NOBODY, PACKAGE_DIR, closed_to_others, is_root
from .spawn import SandboxUnavailable, spawn

# The limits the probe runs under: small, so the fork and file attempts are quick.
PROBE_LIMITS = dict(timeout=60.0, max_processes=16, max_file_mb=1, max_output_chars=100_000)

_SCRIPT = r'''
import hashlib, json, os, socket, sys
job = json.load(sys.stdin)
out = {}
def digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()
def attempt(name, fn):
    try:
        out[name] = fn()
    except BaseException as exc:
        out[name] = "denied: " + type(exc).__name__
def read(path):
    with open(path, "rb") as f:
        return digest(f.read())
def listing(path):
    return digest("\n".join(sorted(os.listdir(path))).encode())
for name, path in job["reads"].items():
    attempt("read " + name, lambda: read(path))
for name, path in job["lists"].items():
    attempt("list " + name, lambda: listing(path))
attempt("link harness cwd", lambda: digest(os.readlink("/proc/%d/cwd" % job["pid"]).encode()))
attempt("signal harness", lambda: os.kill(job["pid"], 0) or "signalled")
def ancestors():
    seen, pid = [], os.getppid()
    while pid > 1 and len(seen) < 32:
        seen.append(digest(os.readlink("/proc/%d/cwd" % pid).encode()))
        with open("/proc/%d/status" % pid) as f:
            pid = int([l for l in f if l.startswith("PPid:")][0].split()[1])
    return seen
attempt("ancestors cwd", ancestors)
for name, path in job["writes"].items():
    attempt("write " + name, lambda: open(path, "w").write("pwned") and "wrote")
attempt("write own folder", lambda: open("own.txt", "w").write("ok") and "wrote")
attempt("import package", lambda: __import__("critpt_harness") and "imported")
if job.get("port"):
    def tcp():
        s = socket.socket(); s.settimeout(3); s.connect(("127.0.0.1", job["port"])); return "connected"
    def udp():
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b"pwned", ("127.0.0.1", job["udp"]))
        return "sent"
    def unix():
        s = socket.socket(socket.AF_UNIX); s.settimeout(3); s.connect(job["unix"]); return "connected"
    attempt("tcp", tcp); attempt("udp", udp); attempt("unix", unix)
def forks():
    kids = []
    try:
        while len(kids) < job["forks"]:
            pid = os.fork()
            if pid == 0:
                os.close(w); os.read(r, 1); os._exit(0)
            kids.append(pid)
    except OSError:
        pass
    os.close(w)
    for pid in kids:
        os.waitpid(pid, 0)
    return len(kids)
r, w = os.pipe()
attempt("forks", forks)
def alloc():
    block = bytearray(job["alloc_mb"] * 1024 * 1024)
    return "allocated %d MB" % (len(block) >> 20)
attempt("memory", alloc)
def big_file():
    with open("big.bin", "wb") as f:
        for _ in range(job["file_mb"]):
            f.write(b"\0" * 1024 * 1024)
    return "wrote %d MB" % job["file_mb"]
attempt("file size", big_file)
print(json.dumps(out))
'''


@dataclass
class Row:
    """One attempt and whether the sandbox held it."""

    what: str
    held: Optional[bool]  # None: not tried here (no such file, network allowed, ...)
    detail: str


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _first_file(folder: Path) -> Optional[Path]:
    """A small readable file of the folder, for the probe to try."""
    try:
        return next((p for p in sorted(folder.iterdir()) if p.is_file() and os.access(p, os.R_OK)
                     and p.stat().st_size < 1 << 20), None)
    except OSError:
        return None


def _listing(folder: Path) -> Optional[str]:
    try:
        return _digest("\n".join(sorted(os.listdir(folder))).encode())
    except OSError:
        return None


class _Bait:
    """What the probe is pointed at, and what the harness itself sees there."""

    def __init__(self, run_folder: Optional[Path], block_network: bool):
        nonce = uuid.uuid4().hex[:10]
        self.tmp = Path(tempfile.mkdtemp(prefix="critpt-sandbox-"))  # like another call's folder
        os.chmod(self.tmp, 0o755)  # only the sandbox, not the permissions, may keep the code out
        (self.tmp / "secret.txt").write_text(f"another sandbox's file {nonce}\n")
        self.cwd, self.home = Path.cwd(), Path.home()
        folders = {"cwd": self.cwd, "home": self.home, "other sandbox": self.tmp}
        if run_folder is not None and run_folder.is_dir():
            folders["run folder"] = run_folder.resolve()
        self.lists = {name: str(p) for name, p in folders.items()}
        self.reads: Dict[str, str] = {}
        for name, folder in folders.items():
            found = _first_file(folder)
            if found is not None:
                self.reads[f"{name} file"] = str(found)
        for name in (".env", ".bash_history"):
            path = (self.cwd if name == ".env" else self.home) / name
            if path.is_file() and os.access(path, os.R_OK):
                self.reads[name] = str(path)
        self.reads["harness environ"] = f"/proc/{os.getpid()}/environ"
        self.writes = {name: str(folder / f".critpt-probe-{nonce}") for name, folder in
                       (("cwd", self.cwd), ("home", self.home), ("tmp", self.tmp))}
        self.sockets: List[socket.socket] = []
        self.port = self.udp = 0
        self.unix = str(self.tmp / "s.sock")
        if block_network:
            tcp, udp, unix = socket.socket(), socket.socket(socket.AF_INET, socket.SOCK_DGRAM), socket.socket(socket.AF_UNIX)
            tcp.bind(("127.0.0.1", 0))
            tcp.listen(4)
            udp.bind(("127.0.0.1", 0))
            unix.bind(self.unix)
            unix.listen(4)
            os.chmod(self.unix, 0o777)
            for s in (tcp, udp, unix):
                s.setblocking(False)
            self.sockets = [tcp, udp, unix]
            self.port, self.udp = tcp.getsockname()[1], udp.getsockname()[1]
        # What the harness sees, taken before the probe runs (and could change it).
        self.expected = {key: self._own(key) for key in [f"read {n}" for n in self.reads] +
                         [f"list {n}" for n in self.lists]}

    def job(self, cfg: SandboxConfig) -> Dict[str, object]:
        return {"reads": self.reads, "lists": self.lists, "writes": self.writes, "pid": os.getpid(),
                "port": self.port, "udp": self.udp, "unix": self.unix, "forks": cfg.max_processes * 4,
                "alloc_mb": cfg.memory_mb + 64, "file_mb": cfg.max_file_mb + 1}

    def _own(self, key: str) -> Optional[str]:
        """The harness's own digest of what the probe's attempt ``key`` names."""
        kind, _, name = key.partition(" ")
        try:
            if kind == "read":
                return _digest(Path(self.reads[name]).read_bytes())
            if kind == "list":
                return _listing(Path(self.lists[name]))
        except OSError:
            return None
        return None

    def reached(self) -> List[str]:
        """What arrived on the harness side: written files, connections, datagrams."""
        hits = [name for name, path in self.writes.items() if os.path.exists(path)]
        for s, name in zip(self.sockets, ("tcp", "udp", "unix")):
            try:
                (s.accept() if name != "udp" else s.recvfrom(64))
                hits.append(name)
            except (BlockingIOError, OSError):
                pass
        return hits

    def close(self) -> None:
        for s in self.sockets:
            s.close()
        for path in self.writes.values():
            Path(path).unlink(missing_ok=True)
        for p in self.tmp.iterdir():
            p.unlink()
        self.tmp.rmdir()


def _judge(out: Dict[str, object], bait: _Bait, cfg: SandboxConfig) -> List[Row]:
    rows: List[Row] = []
    denied = lambda v: isinstance(v, str) and v.startswith("denied")  # noqa: E731
    for key in [k for k in out if k.startswith(("read ", "list "))]:
        value = out[key]
        same = not denied(value) and value == bait.expected.get(key)
        rows.append(Row(key, not same, "the harness's own content was reached" if same else
                        "saw another folder or file, not the harness's" if not denied(value) else str(value)))
    environ_cwd = _digest(str(bait.cwd).encode())
    link = out.get("link harness cwd")
    rows.append(Row("/proc/<harness>/cwd", link != environ_cwd, str(link)[:40]))
    chain = out.get("ancestors cwd")
    leaked = isinstance(chain, list) and environ_cwd in chain
    rows.append(Row("ancestors' /proc/<pid>/cwd", not leaked, "found the harness's cwd" if leaked else str(chain)[:60]))
    rows.append(Row("signal the harness", out.get("signal harness") != "signalled", str(out.get("signal harness"))))
    reached = bait.reached()
    for name in bait.writes:
        rows.append(Row(f"write {name}", name not in reached, str(out.get(f"write {name}"))))
    rows.append(Row("write own folder", out.get("write own folder") == "wrote", str(out.get("write own folder"))))
    imported = out.get("import package") == "imported"
    detail = str(out.get("import package"))
    blocked = None if imported or not is_root() else closed_to_others(PACKAGE_DIR)
    if blocked:  # as root the code runs as uid 65534 (root ignores the process limit)
        detail += (f": {blocked} is closed to other users, so uid {NOBODY} (the code's uid when the harness "
                   f"runs as root) cannot read the package at {PACKAGE_DIR}: put the checkout where that uid can "
                   "read it (not under a 0700 folder), or use bwrap")
    rows.append(Row("import critpt_harness (checks, judge)", imported, detail))
    for name in ("tcp", "udp", "unix"):
        if cfg.block_network:
            rows.append(Row(f"network: {name} to the harness", name not in reached, str(out.get(name))))
        else:
            rows.append(Row(f"network: {name} to the harness", None, "not tried: block_network=false"))
    forks = out.get("forks")
    # Bounded is what holds: without a user namespace the limit also counts the uid's other tasks.
    rows.append(Row(f"processes (limit {cfg.max_processes})", isinstance(forks, int) and forks < cfg.max_processes * 4,
                    f"{forks} of {cfg.max_processes * 4} forks succeeded"))
    rows.append(Row(f"memory (limit {cfg.memory_mb} MB)", denied(out.get("memory")), str(out.get("memory"))))
    rows.append(Row(f"file size (limit {cfg.max_file_mb} MB)", denied(out.get("file size")), str(out.get("file size"))))
    return rows


@dataclass
class Probe:
    """The outcome of the probe in one backend."""

    backend: str
    rows: List[Row]
    problem: Optional[str]  # None: every row held

    @property
    def held(self) -> bool:
        return self.problem is None


def probe_cfg(cfg: SandboxConfig) -> SandboxConfig:
    return replace(cfg, **PROBE_LIMITS)  # type: ignore[arg-type]


async def run_probe(backend: str, cfg: SandboxConfig, *, bwrap: str = "", run_folder: Optional[Path] = None,
                    wall: bool = False) -> Probe:
    """The hostile probe under ``backend`` with ``cfg``'s interpreter and network setting
    (limits from PROBE_LIMITS); ``wall`` adds the wall-clock limit (a second, short call)."""
    cfg = probe_cfg(cfg)
    bait = _Bait(run_folder, cfg.block_network)
    try:
        try:
            result = await spawn(backend, _SCRIPT, cfg, stdin=json.dumps(bait.job(cfg)), with_package=True, bwrap=bwrap)
        except SandboxUnavailable as exc:
            return Probe(backend, [], str(exc))
        lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
        if result.exit_code != 0 or not lines:
            tail = [line for line in result.stderr.strip().splitlines() if line.strip()][-1:] or ["no error output"]
            why = "timed out" if result.timed_out else f"exit code {result.exit_code}"
            return Probe(backend, [], f"the probe did not run ({why}): {tail[0].strip()[:300]}")
        rows = _judge(json.loads(lines[-1]), bait, cfg)
        if result.limits_not_set:
            rows.append(Row("limits set", False, "; ".join(result.limits_not_set)))
    finally:
        bait.close()
    if wall:
        slow = await spawn(backend, "import time\ntime.sleep(30)\n", replace(cfg, timeout=1.0), bwrap=bwrap)
        rows.append(Row("wall-clock limit (1 s)", slow.timed_out and slow.duration_s < 10,
                        f"stopped after {slow.duration_s:.1f} s" if slow.timed_out else "ran to the end"))
    broken = [r for r in rows if r.held is False]
    problem = "; ".join(f"{r.what}: {r.detail}" for r in broken) if broken else None
    return Probe(backend, rows, problem)


def table(probe: Probe) -> List[Tuple[str, str, str]]:
    """(attempt, held / NOT HELD / not tried, detail) rows for printing."""
    mark: Callable[[Optional[bool]], str] = lambda h: "not tried" if h is None else ("held" if h else "NOT HELD")  # noqa: E731
    return [(r.what, mark(r.held), r.detail) for r in probe.rows]


def run_probe_sync(backend: str, cfg: SandboxConfig, **kwargs: object) -> Probe:
    return asyncio.run(run_probe(backend, cfg, **kwargs))  # type: ignore[arg-type]
