"""Generator throughput against a local fake LLM with a fixed latency.

Runs the real generator (openai SDK client, retry policy, JSONL appends, checks)
over the 70 public problems x 5 epochs, two-step, at concurrency 50, against
a fake OpenAI-compatible server in a separate process that answers every
request after 0.5 s. Prints wall time, the ideal time
(requests x latency / concurrency), their ratio, start-up time and peak memory.

With --whole-process, times `python -m critpt_harness generate ...` from start
to exit instead (imports, config, problem loading and the run folder included),
against the target ideal x 1.10 + 1 s.

With --stream every reply is streamed (model.stream=true): the server spreads its latency over
the chunks, so the figure shows what streaming costs.

    python benchmarks/generation_throughput.py [--data ../shared/critpt-data/public] [--whole-process] [--stream]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import List

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path(os.environ.get("CRITPT_DATA_DIR", REPO.parent / "shared" / "critpt-data")) / "public"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--data", default=str(DEFAULT_DATA))
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--concurrency", type=int, default=50)
    p.add_argument("--latency", type=float, default=0.5)
    p.add_argument("--stream", action="store_true", help="stream every reply (model.stream=true)")
    p.add_argument("--whole-process", action="store_true",
                   help="time `python -m critpt_harness generate` start to exit instead of the in-process loop")
    return p


def main() -> None:
    args = parser().parse_args()
    with fake_llm(args.latency) as url:
        if args.whole_process:
            wall, ideal = whole_process(args, url)
            print(f"requests       {ideal_requests(args)} at {args.latency}s latency, concurrency {args.concurrency}")
            print(f"whole process  {wall:.2f} s (start to exit)")
            print(f"ideal time     {ideal:.2f} s")
            print(f"ratio          {wall / ideal:.3f}; target <= {1.10 * ideal + 1:.2f} s (1.10 x ideal + 1 s)")
        else:
            run(args, url)


class fake_llm:
    """The fake OpenAI-compatible server in its own process; yields its base URL."""

    def __init__(self, latency: float):
        self.latency = latency

    def __enter__(self) -> str:
        self.server = subprocess.Popen([sys.executable, "-m", "tests.fakes.serve", "llm",
                                        "--latency", str(self.latency)], stdout=subprocess.PIPE, text=True, cwd=REPO)
        assert self.server.stdout is not None
        return self.server.stdout.readline().strip()

    def __exit__(self, *exc: object) -> None:
        self.server.terminate()
        self.server.wait()


def ideal_requests(args: argparse.Namespace) -> int:
    return 70 * args.epochs * 2


def overrides(args: argparse.Namespace, url: str, run_dir: str) -> List[str]:
    return ["model=openai_compatible", "model.name=bench", f"model.base_url={url}",
            "model.api_key_env=BENCH_KEY", f"generation.epochs={args.epochs}",
            f"generation.concurrency={args.concurrency}", "generation.progress=false",
            f"dataset.path={args.data}", f"run_dir={run_dir}", f"model.stream={str(args.stream).lower()}",
            # the tool's own prompt text: the benchmark runs offline (the official text is fetched)
            "prompts.source=own"]


def whole_process(args: argparse.Namespace, url: str) -> tuple[float, float]:
    """(seconds from start to exit of `python -m critpt_harness generate`, ideal seconds)."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "BENCH_KEY": "bench", "CRITPT_HARNESS_CACHE": f"{tmp}/cache"}
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-m", "critpt_harness", "generate",
                              *overrides(args, url, f"{tmp}/run")],
                             capture_output=True, text=True, env=env, cwd=tmp)
        wall = time.perf_counter() - start
        items = 70 * args.epochs
        if out.returncode != 0 or f"{items}/{items} items done" not in out.stdout:
            raise SystemExit(f"generate failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    return wall, ideal_requests(args) * args.latency / args.concurrency


def run(args: argparse.Namespace, url: str) -> None:
    t0 = time.perf_counter()  # start-up: the harness's imports, config and problem loading
    from hydra import compose, initialize_config_module
    from omegaconf import OmegaConf

    import openai  # noqa: F401  (an import: start-up; the loop would otherwise load it on its first call)

    from critpt_harness import config as config_module
    from critpt_harness.generation.loop import generate_async
    from critpt_harness.data.problems import load_directory
    from critpt_harness.runs import RunFolder

    os.environ["BENCH_KEY"] = "bench"
    config_module.register()
    with tempfile.TemporaryDirectory() as tmp:
        with initialize_config_module(config_module="critpt_harness.configs", version_base="1.3"):
            cfg = OmegaConf.to_object(compose(config_name="config", overrides=overrides(args, url, f"{tmp}/run")))
        problems = list(load_directory(Path(args.data)).problems)
        startup = time.perf_counter() - t0

        start, cpu = time.perf_counter(), time.process_time()
        progress = asyncio.run(generate_async(cfg, problems, RunFolder(cfg.run_dir)))
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu

    requests = len(problems) * args.epochs * 2
    ideal = requests * args.latency / args.concurrency
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"items          {progress.done} ok, {progress.failed} failed ({len(problems)} problems x {args.epochs} epochs)")
    print(f"requests       {requests} at {args.latency}s latency, concurrency {args.concurrency}")
    print(f"start-up       {startup:.2f} s (imports, config, problem loading)")
    print(f"wall time      {wall:.2f} s")
    print(f"client CPU     {cpu:.2f} s ({1000 * cpu / requests:.2f} ms a request; the loop is one thread)")
    print(f"ideal time     {ideal:.2f} s")
    print(f"ratio          {wall / ideal:.3f} (target <= 1.15)")
    print(f"peak memory    {peak_mb:.0f} MB (target < 150)")


if __name__ == "__main__":
    main()
