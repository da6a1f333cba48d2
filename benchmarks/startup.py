"""Short commands and the batch stage, timed whole-process (`python -m critpt_harness ...`), each
the median of --runs runs, on the default run's settings (the official prompt text from a local
copy or the harness cache, the default sandbox):

  resume   `generate` on a finished 70 x 5 run folder (no LLM call)            target < 0.8 s
  help     `--help`                                                            target < 0.3 s
  report   `report` of a graded 5-epoch run, figure reused (numbers unchanged)  target < 0.8 s
  report*  the same, the figure drawn anew (matplotlib is loaded)              target < 1.5 s
  check    `check` of a 70 x 50 run: 3,500 answers run in the sandbox         target <= 8 ms an answer
  generate the generation benchmark (generation_throughput.py's default figure)

The runs are made first with the mock model and graded by the fake grader (127.0.0.1); catalogs
are off and the cache is a temporary folder, so nothing goes to the network.

    python benchmarks/startup.py [--data ../shared/critpt-data/public] [--prompts <clone>] [--runs 5] [--skip-generate]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Callable

import generation_throughput as throughput
from common import Setup, Timed, add_common, environment, harness, line, median, serving, setup, timed

GRADER_KEY = "bench-grader-key"


def timed_line(name: str, runs: int, fn: Callable[[], Timed], target: float, how: Setup, per: int = 1,
               unit: str = "s") -> None:
    results = [fn() for _ in range(runs)]
    scale = 1000 / per if per > 1 else 1.0
    walls = [r.wall * scale for r in results]
    value = median(walls)
    cpu = median([r.cpu for r in results]) * scale
    line(name, value, unit, walls, f"< {target:g} {unit}", value < target, f"; cpu {cpu:.2f} {unit}", how.label)


def make_run(how: Setup, data: str, run_dir: str, epochs: int, tmp: str, graded: bool) -> None:
    common = [f"dataset.path={Path(data).resolve()}", f"generation.epochs={epochs}", "catalog.enabled=false",
              f"run_dir={run_dir}", *how.prompts]
    env = environment(tmp, BENCH_GRADER_KEY=GRADER_KEY)
    if not graded:
        timed(harness("generate", *common), env, tmp)
        return
    with serving("grader", "--api-key", GRADER_KEY) as url:
        timed(harness("run", *common, "checks.execute=false", f"evaluator.url={url}",
                      "evaluator.api_key_env=BENCH_GRADER_KEY", "evaluator.dry_run=false",
                      f"evaluator.ledger_path={tmp}/ledger.jsonl"), env, tmp)


def main() -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add_common(p, runs=5)
    p.add_argument("--skip-generate", action="store_true", help="leave out the generation benchmark")
    args = p.parse_args()
    how = setup(args)
    print(f"whole process, median of {args.runs}; 2 cores shared with other work give noisy walls: the CPU "
          "times vary less", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        env = environment(tmp)
        run_dir = f"{tmp}/run"
        print("making a graded 70 x 5 run and a 70 x 50 run with the mock model ...", flush=True)
        make_run(how, args.data, run_dir, 5, tmp, graded=True)
        make_run(how, args.data, f"{tmp}/run50", 50, tmp, graded=False)
        data = f"dataset.path={Path(args.data).resolve()}"

        timed_line("resume (70 x 5, nothing to do)", args.runs, lambda: timed(harness(
            "generate", data, "generation.epochs=5", "catalog.enabled=false", f"run_dir={run_dir}", *how.prompts),
            env, tmp), 0.8, how)
        timed_line("--help", args.runs, lambda: timed(harness("--help"), env, tmp), 0.3, how)
        report = harness("report", f"run_dir={run_dir}", "catalog.enabled=false", "report.print_table=false")
        timed_line("report (figure reused)", args.runs, lambda: timed(report, env, tmp), 0.8, how)

        def drawn() -> Timed:  # as after new numbers: report.png is drawn again (matplotlib loaded)
            for png in Path(run_dir).glob("report*.png"):
                png.unlink()
            return timed(report, env, tmp)

        timed_line("report* (figure drawn anew)", args.runs, drawn, 1.5, how)
        check = harness("check", f"run_dir={tmp}/run50")
        timed_line("check, 3,500 answers (per answer)", args.runs, lambda: timed(check, env, tmp), 8.0, how,
                   per=3500, unit="ms")
        isolation = json.loads(Path(f"{tmp}/run50/batches/epoch_0.checks.json").read_text()).get("isolation")
        print(f"    (the answers ran under: {', '.join(isolation or []) or 'nothing'})", flush=True)

    if not args.skip_generate:
        gen = throughput.parser().parse_args(["--data", args.data, "--runs", str(args.runs),
                                              *(["--prompts", args.prompts] if args.prompts else []),
                                              *(["--own-prompts"] if args.own_prompts else [])])
        with serving("llm", "--latency", str(gen.latency)) as url:
            throughput.figure(gen, how, url, gen.epochs, gen.concurrency)


if __name__ == "__main__":
    main()
