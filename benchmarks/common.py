"""What the benchmarks share: the official prompt text a user's run reads, the fake servers,
whole-process timing with each process's own CPU time and peak memory, and the printed lines.

A benchmark measures what `critpt-harness` does by default. Anything else it does to get a
figure (its own prompts instead of the official text, progress output off, ...) is a shortcut:
named by a flag and printed beside every figure it touches.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the harness and the fake servers of this checkout
DEFAULT_DATA = Path(os.environ.get("CRITPT_DATA_DIR") or REPO.parent / "shared" / "critpt-data") / "public"
KEY_VARS = ("OPENAI_API_KEY", "ARTIFICIAL_ANALYSIS_API_KEY", "OPENROUTER_API_KEY", "AIMODELSMAP_API_KEY")


def add_common(p: argparse.ArgumentParser, runs: int) -> None:
    p.add_argument("--data", default=str(DEFAULT_DATA), help="folder of Challenge_N.json (the public set)")
    p.add_argument("--prompts", default="", help="a clone of CritPt-Benchmark/CritPt (or its templates/ folder); "
                                                 "default: the official text in the harness cache")
    p.add_argument("--own-prompts", action="store_true",
                   help="SHORTCUT: the tool's own prompts (prompts.source=own) instead of the official text")
    p.add_argument("--runs", type=int, default=runs, help="timed runs per figure (the median is shown)")


@dataclass
class Setup:
    """The overrides every timed command gets, and the shortcuts among them."""

    prompts: List[str]
    shortcuts: List[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"   [shortcuts: {', '.join(self.shortcuts)}]" if self.shortcuts else ""


def setup(args: argparse.Namespace) -> Setup:
    """Where the official prompt text comes from, as in a user's run: a local copy
    (prompts.path) or the harness cache (filled by any earlier online run)."""
    if args.own_prompts:
        return Setup(["prompts.source=own"], ["--own-prompts"])
    if args.prompts:
        return Setup([f"prompts.path={Path(args.prompts).resolve()}"])
    from critpt_harness.config import PromptsConfig
    from critpt_harness.data import official_prompts
    from critpt_harness.errors import PromptsError

    folder = official_prompts.cache_folder(PromptsConfig())
    try:
        for name in official_prompts.FILES:
            path = folder / name
            if not path.is_file():
                raise PromptsError(f"{path} is not there")
            official_prompts.verify(name, path.read_bytes(), str(path))
    except PromptsError as exc:
        raise SystemExit(f"the benchmarks measure the default run, which uses the official prompt text, but it is "
                         f"not cached ({exc}). Pass --prompts <a clone of github.com/CritPt-Benchmark/CritPt>, run "
                         "`critpt-harness generate` once online to cache it, or --own-prompts (a shortcut, "
                         "labelled as such).")
    return Setup([f"prompts.cache_dir={folder.parents[1]}"])


def environment(tmp: str, **extra: str) -> Dict[str, str]:
    """No keys of the user's, a cache of its own, nothing downloaded."""
    env = {k: v for k, v in os.environ.items() if k not in KEY_VARS}
    env.update({"CRITPT_HARNESS_CACHE": f"{tmp}/cache", "CRITPT_HARNESS_OFFLINE": "1", **extra})
    return env


@dataclass
class Timed:
    wall: float  # seconds, start to exit
    cpu: float  # user + system seconds of the process (and the children it waited for)
    rss_mb: float  # its peak resident memory
    stdout: str
    stderr: str


def timed(argv: Sequence[str], env: Dict[str, str], cwd: str) -> Timed:
    """Run a whole process and read its own resource usage; fail loudly when it fails."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(list(argv), stdout=out, stderr=err, env=env, cwd=cwd)
        peak = _PeakMemory(proc.pid)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}):\n{stdout[-3000:]}\n{stderr[-3000:]}")
    return Timed(wall, usage.ru_utime + usage.ru_stime, peak.mb or usage.ru_maxrss / 1024, stdout, stderr)


class _PeakMemory(threading.Thread):
    """The process's own peak resident memory (Linux VmHWM, read while it runs). Not ru_maxrss:
    on Linux that also counts the parent's memory at the fork before the exec."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.path, self.mb = Path(f"/proc/{pid}/status"), 0.0
        self.start()

    def run(self) -> None:
        while True:
            try:
                text = self.path.read_text()
            except OSError:
                return
            found = re.search(r"^VmHWM:\s+(\d+) kB", text, re.M)
            if found is None:  # a zombie: it has exited
                return
            self.mb = max(self.mb, int(found.group(1)) / 1024)
            time.sleep(0.05)


def harness(*args: str) -> List[str]:
    return [sys.executable, "-m", "critpt_harness", *args]


class serving:
    """A fake server (`python -m tests.fakes.serve ...`) in its own process; yields its URL."""

    def __init__(self, *args: str):
        self.args = args

    def __enter__(self) -> str:
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.fakes.serve", *self.args],
                                     stdout=subprocess.PIPE, text=True, cwd=REPO)
        assert self.proc.stdout is not None
        return self.proc.stdout.readline().strip()

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait()


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def line(name: str, value: float, unit: str, runs: Sequence[float], target: str = "", ok: Optional[bool] = None,
         extra: str = "", shortcuts: str = "") -> None:
    shown = ", ".join(f"{v:.2f}" for v in runs[:7]) + (f", ... ({len(runs)} in all)" if len(runs) > 7 else "")
    verdict = "" if ok is None else ("ok" if ok else "MISSED")
    print(f"{name:<34}{value:8.2f} {unit:<3} {('target ' + target) if target else '':<28}{verdict:<7}"
          f"(median of {len(runs)}: {shown}){extra}{shortcuts}", flush=True)
