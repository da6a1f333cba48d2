"""Your own checkpoint, served for the run: `model.checkpoint=/path/or/hf-id` starts an
OpenAI-compatible server (`model.serve.command`, default vLLM), waits until `/v1/models`
answers, points the model at it, and stops it afterwards, also on errors and Ctrl-C.
The server's output goes to `serve.log` in the run folder.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Iterator, Optional

from ...config import HarnessConfig
from ...errors import HarnessError


class ServeError(HarnessError):
    """The model server did not start or did not become ready."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tail(log: Path, lines: int = 20) -> str:
    try:
        text = log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
    except OSError:
        return "(no log)"
    return "\n".join(f"    {line}" for line in text) or "    (the log is empty)"


def _stop(proc: subprocess.Popen) -> None:
    """The whole process group: a server's workers go with it (no orphan holds a GPU)."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def _ready(url: str) -> bool:
    import httpx

    try:
        return httpx.get(f"{url}/models", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


@contextlib.contextmanager
def served(cfg: HarnessConfig, run_path: Path, echo=print) -> Iterator[Optional[str]]:
    """Serve ``model.checkpoint`` for the duration of the block (nothing when it is unset)."""
    m = cfg.model
    if not m.checkpoint:
        yield None
        return
    s = m.serve
    port = s.port or free_port()
    command = s.command.format(checkpoint=m.checkpoint, port=port) + "".join(f" {a}" for a in s.extra_args)
    run_path.mkdir(parents=True, exist_ok=True)
    log = run_path / "serve.log"
    echo(f"serve: starting `{command}` (log: {log})")
    with log.open("ab") as out:
        try:
            proc = subprocess.Popen(shlex.split(command), stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True, env={**os.environ, **s.env})
        except OSError as exc:
            raise ServeError(f"model.serve.command could not start ({exc}): is the server installed "
                             f"(e.g. `pip install vllm`)? The command was: {command}") from exc
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + s.ready_timeout
        while not _ready(url):
            if proc.poll() is not None:
                raise ServeError(f"the model server exited with code {proc.returncode} before it was ready; "
                                 f"the end of {log}:\n{_tail(log)}")
            if time.monotonic() > deadline:
                raise ServeError(f"the model server was not ready within model.serve.ready_timeout="
                                 f"{s.ready_timeout:g}s ({url}/models did not answer); the end of {log}:\n{_tail(log)}")
            time.sleep(0.5)
        echo(f"serve: {m.checkpoint} ready at {url}")
        m.base_url = url
        yield url
    finally:
        _stop(proc)
        echo("serve: stopped")
