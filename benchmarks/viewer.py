"""The run viewer on large runs: 20 run folders of 3,500 items each (70 problems x 50 epochs),
served by `python -m critpt_harness view` as a user starts it, each page timed over HTTP.

The records are real: one mock run (python tool on) over the synthetic public set is made first,
then its 70 records are copied into 50 epochs (with a checks file and a local grading per epoch)
and the folder into 20 runs. Prints the viewer's start-up to its URL, the runs page while the
70,000 records are indexed in the background, the time until every run is indexed, then per page
the first request and the median of --repeat more (target: < 1 s each), and the server's CPU
time, which varies less than wall time on a shared machine.

    python benchmarks/viewer.py [--runs 20] [--epochs 50] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

import httpx
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.synthetic import write_public_set  # noqa: E402

TARGET_S = 1.0


def make_runs(root: Path, runs: int, epochs: int, env: Dict[str, str]) -> Path:
    public = write_public_set(root / "public")
    base = root / "base"
    out = subprocess.run([sys.executable, "-m", "critpt_harness", "run", f"dataset.path={public}", "generation.epochs=1",
                          "generation.use_python=true", f"run_dir={base}", "generation.progress=false",
                          "report.plot=false"], capture_output=True, text=True, env=env, cwd=root)
    if out.returncode != 0:
        raise SystemExit(f"the mock run failed:\n{out.stderr}")
    lines = [json.loads(x) for x in (base / "generations.jsonl").read_text().splitlines() if x.strip()]
    checks = json.loads((base / "batches" / "epoch_0.checks.json").read_text())
    big = root / "big"
    (big / "batches").mkdir(parents=True)
    for name in ("manifest.json", "config.yaml"):
        shutil.copy(base / name, big / name)
    with (big / "generations.jsonl").open("w") as f:
        for e in range(epochs):
            for rec in lines:
                f.write(json.dumps({**rec, "epoch": e}) + "\n")
    grades = {}
    for e in range(epochs):
        (big / "batches" / f"epoch_{e}.checks.json").write_text(json.dumps(checks))
        problems = {r["problem_id"]: {"status": "correct" if (i + e) % 3 == 0 else "incorrect", "reason": "bench"}
                    for i, r in enumerate(lines)}
        correct = sum(p["status"] == "correct" for p in problems.values())
        grades[str(e)] = {"accuracy": correct / len(problems), "problems": problems, "content_hash": f"h{e}"}
    (big / "local_grades.json").write_text(json.dumps({"schema_version": 1, "golden_set": "bench", "epochs": grades}))
    config = yaml.safe_load((big / "config.yaml").read_text())
    config["generation"]["epochs"] = epochs
    folder = root / "runs"
    for k in range(runs):
        run = folder / f"model-{k:02d}" / "run"
        shutil.copytree(big, run)
        config["model"]["name"] = config["model"]["label"] = f"model-{k:02d}"
        (run / "config.yaml").write_text(yaml.safe_dump(config))
    return folder


def server_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="critpt-viewer-bench-") as tmp:
        root = Path(tmp)
        env = {**os.environ, "CRITPT_HARNESS_CACHE": str(root / "cache"), "CRITPT_HARNESS_OFFLINE": "1",
               "PYTHONUNBUFFERED": "1"}
        folder = make_runs(root, args.runs, args.epochs, env)
        items = sum(1 for _ in (folder / "model-00" / "run" / "generations.jsonl").open())
        size = (folder / "model-00" / "run" / "generations.jsonl").stat().st_size
        print(f"{args.runs} runs x {items:,} items ({size / 1e6:.1f} MB of generations.jsonl each)")
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "critpt_harness", "view", str(folder), "--port", "0"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=root)
        try:
            url = None
            for line in proc.stdout:  # type: ignore[union-attr]
                found = re.search(r"open (http://\S+/)", line)
                if found:
                    url = found.group(1)
                    break
            if url is None:
                raise SystemExit("the viewer did not start")
            startup = time.perf_counter() - start
            print(f"start-up to the printed URL: {startup:.2f} s wall, {server_cpu(proc.pid):.2f} s CPU "
                  "(the runs are indexed in the background from here)")
            t0 = time.perf_counter()
            first = httpx.get(url, timeout=60)
            print(f"the runs page while indexing: {time.perf_counter() - t0:.2f} s "
                  f"({first.text.count('indexing …')} of {args.runs} runs still being indexed)")
            ids = [r["id"] for r in httpx.get(url + "api/runs", timeout=120).json()]  # answers once all are indexed
            print(f"every run indexed: {time.perf_counter() - start:.2f} s after the start, "
                  f"{server_cpu(proc.pid):.2f} s CPU in all")
            run_id, other = ids[3], ids[7]
            pages = {"runs": ("", {}), "run grid (3,500 cells)": ("run", {"run": run_id}),
                     "item": ("item", {"run": run_id, "p": "Challenge_35_main", "e": "3"}),
                     "compare": ("compare", {"a": run_id, "b": other})}
            print(f"{'page':<24} {'first':>8} {'median':>8} {'CPU/page':>9}  target < {TARGET_S:.0f} s")
            worst = 0.0
            with httpx.Client(timeout=60) as client:
                for name, (path, params) in pages.items():
                    times: List[float] = []
                    cpu0 = server_cpu(proc.pid)
                    for _ in range(args.repeat + 1):
                        t0 = time.perf_counter()
                        reply = client.get(url + path, params=params)
                        times.append(time.perf_counter() - t0)
                        if reply.status_code != 200:
                            raise SystemExit(f"{name}: HTTP {reply.status_code}")
                    cpu = (server_cpu(proc.pid) - cpu0) / len(times)
                    worst = max(worst, *times)
                    print(f"{name:<24} {times[0]:>7.3f}s {statistics.median(times[1:]):>7.3f}s {cpu:>8.3f}s")
            print("all pages under the target" if worst < TARGET_S else f"slowest request {worst:.2f} s: over the target")
        finally:
            proc.terminate()
            proc.wait(30)


if __name__ == "__main__":
    main()
