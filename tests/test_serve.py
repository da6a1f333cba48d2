"""Your own checkpoint served for the run: the project's fake LLM server stands in for
`vllm serve` (the command is configurable). It is started, used and stopped; one that
never becomes ready, or dies, fails with its log tail and leaves no process behind."""

from __future__ import annotations

import os
import sys

from critpt_harness.runfiles import read_jsonl
from critpt_harness.runs import RunFolder

from .conftest import REPO, run_cli

FAKE = f"'{sys.executable} -m tests.fakes.serve llm --port {{port}}'"  # quoted for Hydra
# The fake server's environment: the repository on its path (it runs from the test's working dir).
FAKE_ENV = f"+model.serve.env.PYTHONPATH={REPO}"


def script(tmp_path, name: str, body: str) -> str:
    """A stand-in server as a script file, and the quoted model.serve.command that runs it."""
    path = tmp_path / f"{name}.py"
    path.write_text(body)
    return f"'{sys.executable} {path} {{port}}'"


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie is gone for our purposes
        return f.read().split()[2] != "Z"



def test_a_checkpoint_is_served_used_and_stopped(public_dir, tmp_path):
    run = tmp_path / "run"
    out = run_cli("generate", "model=vllm_serve", "model.checkpoint=my-org/my-ckpt", f"model.serve.command={FAKE}", FAKE_ENV,
                  f"dataset.path={public_dir}", "dataset.limit=2", "generation.epochs=1", f"run_dir={run}",
                  "prompts.source=own", "generation.progress=false")
    assert out.returncode == 0, out.stderr
    assert "serve: my-org/my-ckpt ready at http://127.0.0.1:" in out.stdout and "serve: stopped" in out.stdout
    records = list(read_jsonl(RunFolder(run).generations_file))
    assert len(records) == 2 and all(r["status"] == "ok" and r["model"] == "my-org/my-ckpt" for r in records)
    assert (run / "serve.log").exists()
    # resuming gets a new port: the checkpoint, not the URL, identifies the run
    again = run_cli("generate", "model=vllm_serve", "model.checkpoint=my-org/my-ckpt", f"model.serve.command={FAKE}", FAKE_ENV,
                    f"dataset.path={public_dir}", "dataset.limit=2", "generation.epochs=1", f"run_dir={run}",
                    "prompts.source=own", "generation.progress=false")
    assert again.returncode == 0, again.stderr


def test_a_server_that_never_gets_ready_fails_with_its_log_tail_and_is_stopped(tmp_path, public_dir):
    marker = tmp_path / "pid"
    slow = script(tmp_path, "slow", f"import os, time\nopen({str(marker)!r}, 'w').write(str(os.getpid()))\n"
                                    "print('loading shards', flush=True)\ntime.sleep(120)\n")
    out = run_cli("generate", "model=vllm_serve", "model.checkpoint=ckpt", f"model.serve.command={slow}",
                  "model.serve.ready_timeout=2", f"dataset.path={public_dir}", f"run_dir={tmp_path / 'run'}",
                  "prompts.source=own")
    assert out.returncode == 2
    assert "not ready within model.serve.ready_timeout=2s" in out.stderr and "loading shards" in out.stderr
    assert not alive(int(marker.read_text()))


def test_a_server_that_dies_says_so_with_its_log(tmp_path, public_dir):
    dies = script(tmp_path, "dies", "print('CUDA out of memory', flush=True)\nraise SystemExit(3)\n")
    out = run_cli("generate", "model=vllm_serve", "model.checkpoint=ckpt", f"model.serve.command={dies}",
                  f"dataset.path={public_dir}", f"run_dir={tmp_path / 'run'}", "prompts.source=own")
    assert out.returncode == 2
    assert "exited with code 3 before it was ready" in out.stderr and "CUDA out of memory" in out.stderr


def test_ctrl_c_during_the_run_leaves_no_server_behind(public_dir, tmp_path):
    import signal
    import subprocess
    import time

    marker = tmp_path / "pid"
    stand_in = script(tmp_path, "serve", "import os, sys\n"
                      f"open({str(marker)!r}, 'w').write(str(os.getpid()))\n"
                      "os.execv(sys.executable, [sys.executable, '-m', 'tests.fakes.serve', 'llm',\n"
                      "                          '--latency', '5', '--port', sys.argv[1]])\n")
    harness = subprocess.Popen(
        [sys.executable, "-m", "critpt_harness", "generate", "model=vllm_serve", "model.checkpoint=ckpt",
         f"model.serve.command={stand_in}", FAKE_ENV, f"dataset.path={public_dir}", "dataset.limit=2", "generation.epochs=1",
         f"run_dir={tmp_path / 'run'}", "prompts.source=own", "generation.progress=false"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path)
    deadline = time.monotonic() + 60
    line = ""
    while "ready at" not in line and time.monotonic() < deadline:
        line = harness.stdout.readline()
    assert "ready at" in line
    time.sleep(1.0)  # the items are in flight (each reply takes 5 s)
    server = int(marker.read_text())
    assert alive(server)
    harness.send_signal(signal.SIGINT)
    output = harness.communicate(timeout=60)[0]
    assert harness.returncode == 130 and "serve: stopped" in output
    time.sleep(0.5)
    assert not alive(server)
