"""Generator throughput against a local fake LLM with a fixed latency.

Runs the real generator (openai SDK client, retry policy, JSONL appends, checks)
over the 70 public problems x 5 epochs, two-step, at concurrency 50, against
a fake OpenAI-compatible server in a separate process that answers every
request after 0.5 s. Prints wall time, the ideal time
(requests x latency / concurrency), their ratio, start-up time and peak memory.

    python benchmarks/generation_throughput.py [--data ../shared/critpt-data/public] [--stream]

--stream streams every reply (model.stream=true): the server spreads its latency over the chunks.
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

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "critpt-data" / "public"))
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--stream", action="store_true", help="stream every reply (model.stream=true)")
    args = parser.parse_args()

    server = subprocess.Popen([sys.executable, "-m", "critpt_harness.testing.servers", "llm",
                               "--latency", str(args.latency)], stdout=subprocess.PIPE, text=True)
    try:
        url = server.stdout.readline().strip()
        run(args, url)
    finally:
        server.terminate()
        server.wait()


def run(args: argparse.Namespace, url: str) -> None:
    t0 = time.perf_counter()  # start-up: the harness's imports, config and problem loading
    from hydra import compose, initialize_config_module
    from omegaconf import OmegaConf

    from critpt_harness import config as config_module
    from critpt_harness.generate import generate_async
    from critpt_harness.problems import load_directory
    from critpt_harness.runs import RunFolder

    os.environ["BENCH_KEY"] = "bench"
    config_module.register()
    with tempfile.TemporaryDirectory() as tmp:
        overrides = ["model=openai_compatible", "model.name=bench", f"model.base_url={url}",
                     "model.api_key_env=BENCH_KEY", f"generation.epochs={args.epochs}",
                     f"generation.concurrency={args.concurrency}", "generation.progress=false",
                     f"dataset.path={args.data}", f"run_dir={tmp}/run", "generation.preflight=false",
                     f"model.stream={str(args.stream).lower()}"]
        with initialize_config_module(config_module="critpt_harness.configs", version_base="1.3"):
            cfg = OmegaConf.to_object(compose(config_name="config", overrides=overrides))
        problems = list(load_directory(Path(args.data)).problems)
        startup = time.perf_counter() - t0

        start = time.perf_counter()
        progress = asyncio.run(generate_async(cfg, problems, RunFolder(cfg.run_dir)))
        wall = time.perf_counter() - start

    requests = len(problems) * args.epochs * 2
    ideal = requests * args.latency / args.concurrency
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"items          {progress.done} ok, {progress.failed} failed ({len(problems)} problems x {args.epochs} epochs)")
    print(f"requests       {requests}{' streamed' if args.stream else ''} at {args.latency}s latency, "
          f"concurrency {args.concurrency}")
    print(f"start-up       {startup:.2f} s (imports, config, problem loading)")
    print(f"wall time      {wall:.2f} s")
    print(f"ideal time     {ideal:.2f} s")
    print(f"ratio          {wall / ideal:.3f} (target <= 1.15)")
    print(f"peak memory    {peak_mb:.0f} MB (target < 150)")


if __name__ == "__main__":
    main()
