"""Generation against a local fake LLM with a fixed latency, timed as the whole process a user runs.

`python -m critpt_harness generate` over the 70 public problems x --epochs, two-step, --concurrency
at a time, against a fake OpenAI-compatible server in its own process that answers every request
after --latency s. Everything else is the default run: the official prompt text (a local copy or
the harness cache), model.stream=auto, the default sandbox, the default progress output (lines, as
without a terminal). Each figure is the median of --runs runs, with the ideal time (requests x latency
/ concurrency), their ratio, the target (1.10 x ideal + 1 s), the process's CPU time and peak memory.

    python benchmarks/generation_throughput.py                  # 70 x 5 at concurrency 50, 0.5 s a reply
    python benchmarks/generation_throughput.py --scale          # 350 and 3,500 items at concurrency 200:
                                                                #   time, peak memory and its growth
    python benchmarks/generation_throughput.py --protocol code  # the python tool twice per item: the
                                                                #   cost of a sandboxed call vs `python -I -c pass`
    python benchmarks/generation_throughput.py --stream         # a variant: every reply streamed
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import List

from common import Setup, add_common, environment, harness, line, median, serving, setup, timed

TOOL_ROUNDS = 2  # python tool calls per item in --protocol code


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add_common(p, runs=5)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--concurrency", type=int, default=50)
    p.add_argument("--latency", type=float, default=0.5)
    p.add_argument("--protocol", choices=["two-step", "code"], default="two-step",
                   help=f"code: generation.use_python=true, the fake LLM calls the python tool {TOOL_ROUNDS}x per item")
    p.add_argument("--scale", action="store_true", help="350 and 3,500 items (5 and 50 epochs) at concurrency 200")
    p.add_argument("--stream", action="store_true", help="a variant: model.stream=true (every reply streamed)")
    p.add_argument("--no-progress", action="store_true", help="SHORTCUT: generation.progress=false")
    return p


@dataclass
class Result:
    wall: float
    cpu: float
    rss_mb: float
    tool_seconds: List[float]  # each sandboxed tool call, start to result (records' duration_s)


def requests_per_item(args: argparse.Namespace) -> int:
    return 2 + (TOOL_ROUNDS if args.protocol == "code" else 0)  # answer (+ a request per tool round), format


def ideal(args: argparse.Namespace, epochs: int, concurrency: int) -> float:
    return 70 * epochs * requests_per_item(args) * args.latency / concurrency


def generate_once(args: argparse.Namespace, how: Setup, url: str, epochs: int, concurrency: int) -> Result:
    with tempfile.TemporaryDirectory() as tmp:
        overrides = ["model=openai_compatible", "model.name=bench", f"model.base_url={url}",
                     "model.api_key_env=BENCH_KEY", f"generation.epochs={epochs}",
                     f"generation.concurrency={concurrency}", f"dataset.path={Path(args.data).resolve()}",
                     f"run_dir={tmp}/run", *how.prompts]
        overrides += ["model.stream=true"] if args.stream else []
        overrides += ["generation.progress=false"] if args.no_progress else []
        overrides += ["generation.use_python=true"] if args.protocol == "code" else []
        out = timed(harness("generate", *overrides), environment(tmp, BENCH_KEY="bench"), tmp)
        items = 70 * epochs
        if f"{items}/{items} items done" not in out.stdout:
            raise SystemExit(f"generate did not finish every item:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
        calls = []
        with open(f"{tmp}/run/generations.jsonl", encoding="utf-8") as records:  # a line at a time
            for raw in records:
                calls += [c["duration_s"] for c in json.loads(raw).get("tool_calls") or [] if "duration_s" in c]
    return Result(out.wall, out.cpu, out.rss_mb, calls)


def figure(args: argparse.Namespace, how: Setup, url: str, epochs: int, concurrency: int,
           targeted: bool = True) -> List[Result]:
    results = [generate_once(args, how, url, epochs, concurrency) for _ in range(args.runs)]
    walls = [r.wall for r in results]
    best = ideal(args, epochs, concurrency)
    target = 1.10 * best + 1
    wall = median(walls)
    name = f"{70 * epochs} items, concurrency {concurrency}"
    extra = (f"; ideal {best:.2f} s, ratio {wall / best:.2f}; cpu {median([r.cpu for r in results]):.2f} s, "
             f"peak {median([r.rss_mb for r in results]):.0f} MB")
    if args.protocol == "code" or not targeted:  # code: the sandbox's time is on top (its own line has a target)
        note = " (the model's time only)" if args.protocol == "code" else " (the memory baseline)"
        line(name, wall, "s", walls, extra=extra + note, shortcuts=how.label)
    else:
        line(name, wall, "s", walls, f"<= {target:.2f} s", wall <= target, extra, how.label)
    return results


def bare_start(n: int = 20) -> float:
    """Median seconds of `python -I -c pass` on this machine, start to exit."""
    times = []
    for _ in range(n):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-I", "-c", "pass"], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def one_at_a_time(n: int = 20) -> tuple[List[float], str]:
    """Seconds of each of ``n`` python tool calls (`print(6 * 7)`) run one after another through the
    harness's own tool path (tools.calls.execute, the default sandbox), and the isolation used."""
    import asyncio
    from types import SimpleNamespace

    from critpt_harness.config.generation import ToolsConfig
    from critpt_harness.tools.calls import ToolBudget, execute

    async def calls() -> List[dict]:
        call = SimpleNamespace(id="c", name="python", arguments=json.dumps({"code": "print(6 * 7)"}))
        return [(await execute(call, ToolBudget(ToolsConfig(max_calls=None)), 1))[1] for _ in range(n + 1)]

    entries = asyncio.run(calls())[1:]  # the first also probes the backend
    return [e["duration_s"] for e in entries], str(entries[0].get("isolation"))


def main() -> None:
    args = parser().parse_args()
    how = setup(args)
    if args.stream:
        how.shortcuts.append("--stream (a variant: every reply streamed)")
    if args.no_progress:
        how.shortcuts.append("--no-progress")
    rounds = ["--tool-rounds", str(TOOL_ROUNDS)] if args.protocol == "code" else []
    print(f"{args.protocol}, {args.latency:g} s a reply, {requests_per_item(args)} requests an item, whole process "
          f"(python -m critpt_harness generate), median of {args.runs}; 2 cores shared with other work give "
          "noisy walls: the CPU times vary less", flush=True)
    with serving("llm", "--latency", str(args.latency), *rounds) as url:
        if args.scale:
            small = figure(args, how, url, 5, 200, targeted=False)
            large = figure(args, how, url, 50, 200)
            rss = median([r.rss_mb for r in large]), median([r.rss_mb for r in small])
            growth = rss[0] / rss[1] - 1
            line("peak memory, 3,500 items", rss[0], "MB", [r.rss_mb for r in large], "<= 120 MB, +-10 % of 350",
                 rss[0] <= 120 and abs(growth) <= 0.10, f"; 350 items: {rss[1]:.0f} MB ({growth:+.0%})", how.label)
            return
        results = figure(args, how, url, args.epochs, args.concurrency)
    if args.protocol == "code":
        bare = bare_start() * 1000
        alone, isolation = one_at_a_time()
        call = median(alone) * 1000
        line(f"tool call alone ({isolation}), start to result", call, "ms", [a * 1000 for a in alone],
             f"<= 2 x bare ({2 * bare:.0f} ms)", call <= 2 * bare,
             f"; `python -I -c pass` {bare:.0f} ms (ratio {call / bare:.2f})", how.label)
        per_run = [median(r.tool_seconds) * 1000 for r in results]  # each run's median call, in ms
        line(f"tool call in the run ({args.concurrency} at once)", median(per_run), "ms", per_run,
             extra=f"; {sum(len(r.tool_seconds) for r in results)} calls", shortcuts=how.label)


if __name__ == "__main__":
    main()
