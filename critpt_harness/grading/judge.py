"""The judge: call the candidate's ``answer`` and the golden function with the
same arguments, in the sandbox, and compare what they return.

Harness side: :func:`run_judge` sends every item of a grading to ONE sandbox
process (sandbox.run_python; sympy is imported once there). Sandbox side:
:func:`sandbox_main` forks one child per problem (a few at a time), so a
problem that hangs, crashes or exits costs only itself. Each child runs three
phases (verdict.py) -- golden, candidate, compare -- each under its own alarm of
``timeout`` seconds; the parent kills a child that outlives all of them (code
stuck in C ignores alarms). Statuses:

- ``correct`` / ``incorrect`` (with the reason: exception, wrong value, ...);
- ``timeout``: the candidate's ``answer`` did not return in time;
- ``not_gradable``: the inputs of ``answer`` cannot be supplied (neither
  module-level names of the golden code nor understood ``testcases``);
- ``judge_error``: the golden code failed, or the comparison or the judge itself did.

Trust: model code never runs in the harness process; it runs in the sandbox
(sandbox.py: bwrap where it works, which shows it only its folder, the
interpreter and this package read-only; every verdict says which ``isolation``
ran). It does run in the same child as its own comparison: code written to
tamper with the judge could fake its own verdict (not another problem's). This
is a rehearsal tool.
"""

from __future__ import annotations

import json
import os
import secrets
import select
import signal
import sys
import time
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any, Dict, List, Optional

from ..config.grading import DEFAULT_ATOL, DEFAULT_RTOL
from .verdict import describe_error, judge_item

if TYPE_CHECKING:  # the sandbox side never imports the harness's config (it pulls in Hydra)
    from ..config.sandbox import SandboxConfig

MARK = "@@critpt-judge@@"
STATUSES = ("correct", "incorrect", "timeout", "not_gradable", "judge_error")
SCRIPT = "from critpt_harness.grading.judge import sandbox_main\nsandbox_main()\n"
# Per child: golden + candidate + compare + a numeric-only retry of compare, plus slack.
_PHASES = 4
_SLACK = 2.0


@dataclass
class JudgeItem:
    """One problem to judge: the candidate's code and the golden code."""

    id: str
    candidate: str
    golden: str
    golden_name: str = "real_answer"
    testcases: Any = None
    rtol: float = DEFAULT_RTOL
    atol: float = DEFAULT_ATOL
    seed: int = 0


# ---------------------------------------------------------------- sandbox side

def _prewarm(items: List[Dict[str, Any]]) -> None:
    """Import what the answers use once, before forking, so children share it."""
    text = " ".join(i.get("golden", "") + i.get("candidate", "") for i in items)
    for name in ("sympy", "numpy", "scipy"):
        if name in text:
            try:
                __import__(name)
            except ImportError:
                pass


def _child(item: Dict[str, Any], timeout: float, write_fd: int) -> None:  # pragma: no cover - in a fork
    try:
        _own_group(0)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):  # model prints must not reach the judge's output
            os.dup2(devnull, fd)

        def send(obj: Dict[str, Any]) -> None:
            os.write(write_fd, (json.dumps(obj, default=str) + "\n").encode())

        send({"verdict": judge_item(item, timeout, lambda p: send({"phase": p}))})
    except BaseException as exc:
        try:
            os.write(write_fd, (json.dumps({"verdict": {"id": item["id"], "status": "judge_error",
                                                        "reason": f"the judge failed: {describe_error(exc)}"}})
                                + "\n").encode())
        except OSError:
            pass
    finally:
        os._exit(0)


def _own_group(pid: int) -> None:
    """Each answer in a process group of its own, so what it leaves running ends with its verdict
    (set in the child and the parent alike: whichever runs first)."""
    try:
        os.setpgid(pid, 0)
    except OSError:  # the child has already exited, or set it itself
        pass


def _end_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:  # nothing left in it
        pass


@dataclass
class _Running:
    item: Dict[str, Any]
    pid: int
    fd: int
    deadline: float
    buffer: bytes = b""
    phase: Optional[str] = None
    verdict: Optional[Dict[str, Any]] = None

    @property
    def answered(self) -> bool:
        """Its verdict has arrived (processes it left may still hold the pipe open)."""
        return self.verdict is not None

    def read(self, chunk: bytes, timeout: float) -> None:
        """Take the child's messages; each new phase gets its own deadline (compare: two tries)."""
        self.buffer += chunk
        phase, self.verdict = _last_messages(self.buffer)
        if phase != self.phase:
            self.phase = phase
            self.deadline = time.monotonic() + (2 if phase == "compare" else 1) * timeout + _SLACK


def _last_messages(buffer: bytes) -> tuple[Optional[str], Optional[Dict[str, Any]]]:
    phase, result = None, None
    for line in buffer.decode("utf-8", "replace").splitlines():
        try:
            msg = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(msg, dict):
            phase = msg.get("phase", phase)
            result = msg.get("verdict", result)
    return phase, result


def _no_verdict(item: Dict[str, Any], phase: Optional[str], timeout: float, killed: bool, status: int) -> Dict[str, Any]:
    out = {"id": item["id"]}
    if killed:
        if phase == "candidate":
            return {**out, "status": "timeout", "reason": f"answer() did not return within {timeout:g}s"}
        return {**out, "status": "judge_error", "reason": f"the judge ran out of time in the {phase or 'start'} phase"}
    how = f"signal {-status}" if status < 0 else f"exit code {status}"
    if phase == "candidate":
        return {**out, "status": "incorrect", "reason": f"the code ended its process ({how})"}
    return {**out, "status": "judge_error", "reason": f"the judge process ended ({how}) in the {phase or 'start'} phase"}


def _reap(run: _Running, timeout: float, kill: bool) -> Optional[Dict[str, Any]]:
    """The verdict of a child that has exited (or is killed now); None while it still runs."""
    if kill:
        _end_group(run.pid)
        try:  # the answer may have left its group
            os.kill(run.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    pid, raw = os.waitpid(run.pid, 0 if kill else os.WNOHANG)
    if pid == 0:
        return None
    _end_group(run.pid)  # before the next fork can take the number: what the answer left running ends here
    os.close(run.fd)
    result = run.verdict
    if result is not None and result.get("status") in STATUSES:
        return result
    return _no_verdict(run.item, run.phase, timeout, kill, os.waitstatus_to_exitcode(raw))


def sandbox_main() -> None:  # pragma: no cover - runs in the sandbox (covered through run_judge)
    """Read {nonce, timeout, workers, items} on stdin; print one marked line per verdict."""
    job = json.load(sys.stdin)
    items, timeout, workers = job["items"], float(job["timeout"]), max(1, int(job.get("workers", 1)))
    prefix = f"{MARK} {job['nonce']} "
    out = sys.stdout
    _prewarm(items)
    queue = list(items)
    running: Dict[int, _Running] = {}
    closed: set = set()  # children whose pipe is closed, not yet exited
    while queue or running:
        while queue and len(running) < workers:
            item = queue.pop(0)
            read_fd, write_fd = os.pipe()
            out.flush()
            pid = os.fork()
            if pid == 0:
                os.close(read_fd)
                _child(item, timeout, write_fd)
            os.close(write_fd)
            _own_group(pid)
            running[read_fd] = _Running(item, pid, read_fd, time.monotonic() + timeout + _SLACK)
        wait = max(0.0, min(r.deadline for r in running.values()) - time.monotonic())
        if closed or any(r.answered for r in running.values()):
            wait = min(wait, 0.02)
        ready, _, _ = select.select([fd for fd in running if fd not in closed], [], [], wait)
        for fd in ready:
            chunk = os.read(fd, 65536)
            if chunk:
                running[fd].read(chunk, timeout)
            else:
                closed.add(fd)
        now = time.monotonic()
        for fd, run in list(running.items()):
            if fd in closed or run.answered or run.deadline <= now:
                verdict = _reap(run, timeout, kill=run.deadline <= now)
                if verdict is not None:
                    del running[fd]
                    closed.discard(fd)
                    out.write(prefix + json.dumps(verdict, default=str) + "\n")
                    out.flush()
    # Anything else left in our own process group ends too
    # (only when we lead that group, as in the sandbox, never a caller's group).
    if os.getpgid(0) == os.getpid():
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            os.killpg(os.getpid(), signal.SIGTERM)
        except OSError:
            pass


# ---------------------------------------------------------------- harness side

def parse_output(stdout: str, nonce: str) -> Dict[str, Dict[str, Any]]:
    prefix = f"{MARK} {nonce} "
    verdicts = {}
    for line in stdout.splitlines():
        if line.startswith(prefix):
            try:
                verdict = json.loads(line[len(prefix):])
            except json.JSONDecodeError:
                continue
            verdicts[verdict["id"]] = verdict
    return verdicts


async def run_judge(items: List[JudgeItem], sandbox: "SandboxConfig", *, timeout: float = 30.0,
                    workers: int = 4) -> Dict[str, Dict[str, Any]]:
    """Judge every item in one sandbox process; returns {id: verdict} with a
    verdict for every item (``judge_error`` when the sandbox gave none)."""
    from ..tools.sandbox import run_python  # harness side only: the sandbox side never needs it

    if not items:
        return {}
    workers = max(1, workers)
    rounds = -(-len(items) // workers)
    # Limits stretched to the job: every round of children may use all its phases; each
    # process has its own CPU budget; a verdict line is at most a few KB.
    limits = replace(sandbox, timeout=sandbox.timeout + rounds * (_PHASES * timeout + _SLACK),
                     cpu_seconds=max(sandbox.cpu_seconds, int(_PHASES * timeout + _SLACK) + 1),
                     max_output_chars=max(sandbox.max_output_chars, 10000 + 4096 * len(items)))
    nonce = secrets.token_hex(8)
    job = {"nonce": nonce, "timeout": timeout, "workers": workers, "items": [asdict(i) for i in items]}
    result = await run_python(SCRIPT, limits, stdin=json.dumps(job, default=str), with_package=True)
    verdicts = parse_output(result.stdout, nonce)
    for verdict in verdicts.values():
        verdict["isolation"] = result.isolation
    if len(verdicts) < len(items):
        if result.timed_out:
            why = f"the judge process hit its overall time limit ({limits.timeout:g}s)"
        else:
            tail = result.stderr.strip().splitlines()[-1:] or ["no error output"]
            why = f"the judge process ended with exit code {result.exit_code} ({tail[0][:300]})"
            if "critpt_harness" in result.stderr and "ModuleNotFoundError" in result.stderr:
                why += ("; the sandbox interpreter cannot import critpt_harness: leave the sandbox's "
                        "`python` empty or point it at an environment where critpt-harness is installed")
        for item in items:
            verdicts.setdefault(item.id, {"id": item.id, "status": "judge_error", "reason": why,
                                          "isolation": result.isolation})
    return verdicts


def run_judge_sync(items: List[JudgeItem], sandbox: "SandboxConfig", **kwargs: Any) -> Dict[str, Dict[str, Any]]:
    import asyncio

    return asyncio.run(run_judge(items, sandbox, **kwargs))
