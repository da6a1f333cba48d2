"""Start-up of short commands, timed whole-process (`python -m critpt_harness ...`).

Prints, each the median of --repeat runs (wall time; the CPU time of the process is
shown too, as it is steadier when other work shares the machine):

  resume   `generate` on a finished 70 x 5 run folder (no LLM call)   target < 1.0 s
  help     `--help`                                                   target < 0.3 s
  report   `report` of a 5-epoch graded run (reads stored files only) target < 1.5 s
           (report: the figure is reused, as when the numbers did not change; report*: drawn anew)
  generate the generation benchmark as a whole process (70 x 5, two-step, 0.5 s latency,
           concurrency 50), start to exit                            target <= 1.10 x ideal + 1 s

The runs are made first with the mock model, graded by the fake grader (127.0.0.1);
catalogs are off and the cache is a temporary folder, so nothing goes to the network.

    python benchmarks/startup.py [--data ../shared/critpt-data/public] [--repeat 3] [--skip-generate]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parent))
import generation_throughput as throughput  # noqa: E402

GRADER_KEY = "bench-grader-key"


CPU: List[float] = []  # CPU seconds (user + sys) of each timed process: steadier than wall time on a busy machine


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def harness(*args: str, env: Dict[str, str], cwd: str) -> float:
    """Seconds from start to exit of `python -m critpt_harness <args>`; fails loudly on an error."""
    cpu = children_cpu()
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "critpt_harness", *args], capture_output=True, text=True,
                         env=env, cwd=cwd)
    seconds = time.perf_counter() - start
    CPU.append(children_cpu() - cpu)
    if out.returncode != 0:
        raise SystemExit(f"critpt-harness {' '.join(args)} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    return seconds


def median_of(repeat: int, fn) -> tuple[float, List[float]]:  # type: ignore[no-untyped-def]
    CPU.clear()
    times = [fn() for _ in range(repeat)]
    return statistics.median(times), times


def line(name: str, value: float, times: List[float], target: str, ok: bool) -> None:
    runs = ", ".join(f"{t:.2f}" for t in times)
    cpu = f"; cpu {statistics.median(CPU):.2f} s" if CPU else ""
    print(f"{name:<10}{value:7.2f} s   target {target:<22} {'ok' if ok else 'MISSED'}   (runs: {runs}{cpu})",
          flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--data", default=str(throughput.DEFAULT_DATA))
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--skip-generate", action="store_true", help="leave out the whole-process generation benchmark")
    args = p.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "CRITPT_HARNESS_CACHE": f"{tmp}/cache", "BENCH_GRADER_KEY": GRADER_KEY}
        for var in ("OPENAI_API_KEY", "ARTIFICIAL_ANALYSIS_API_KEY", "OPENROUTER_API_KEY", "AIMODELSMAP_API_KEY"):
            env.pop(var, None)
        run_dir = f"{tmp}/run"
        common = [f"dataset.path={args.data}", "generation.epochs=5", "generation.progress=false",
                  "catalog.enabled=false"]
        grader = subprocess.Popen([sys.executable, "-m", "tests.fakes.serve", "grader",
                                   "--api-key", GRADER_KEY], stdout=subprocess.PIPE, text=True, cwd=throughput.REPO)
        try:
            assert grader.stdout is not None
            url = grader.stdout.readline().strip()
            print("making a graded 70 x 5 run with the mock model ...", flush=True)
            harness("run", *common, f"run_dir={run_dir}", "checks.execute=false", f"evaluator.url={url}",
                    "evaluator.api_key_env=BENCH_GRADER_KEY", "evaluator.dry_run=false",
                    f"evaluator.ledger_path={tmp}/ledger.jsonl", env=env, cwd=tmp)
        finally:
            grader.terminate()
            grader.wait()

        resume, times = median_of(args.repeat, lambda: harness(
            "generate", *common, f"run_dir={run_dir}", env=env, cwd=tmp))
        line("resume", resume, times, "< 1.0 s", resume < 1.0)
        help_, times = median_of(args.repeat, lambda: harness("--help", env=env, cwd=tmp))
        line("help", help_, times, "< 0.3 s", help_ < 0.3)
        report, times = median_of(args.repeat, lambda: harness(
            "report", f"run_dir={run_dir}", "catalog.enabled=false", "report.print_table=false", env=env, cwd=tmp))
        line("report", report, times, "< 1.5 s", report < 1.5)

        def first_report() -> float:  # as after new numbers: report.png is drawn again (matplotlib loaded)
            for png in Path(run_dir).glob("report*.png"):
                png.unlink()
            return harness("report", f"run_dir={run_dir}", "catalog.enabled=false", "report.print_table=false",
                           env=env, cwd=tmp)

        drawn, times = median_of(args.repeat, first_report)
        line("report*", drawn, times, "< 1.5 s", drawn < 1.5)

    if args.skip_generate:
        return
    gen_args = throughput.parser().parse_args(["--data", args.data])
    with throughput.fake_llm(gen_args.latency) as url:
        results = [throughput.whole_process(gen_args, url) for _ in range(args.repeat)]
    CPU.clear()
    ideal = results[0][1]
    wall = statistics.median(w for w, _ in results)
    target = 1.10 * ideal + 1
    line("generate", wall, [w for w, _ in results], f"<= {target:.2f} s (ideal {ideal:.2f})", wall <= target)


if __name__ == "__main__":
    main()
