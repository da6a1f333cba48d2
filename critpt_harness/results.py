"""Per-epoch grades, their mean and standard error, and the short table printed at the end."""

from __future__ import annotations

import math
import statistics
from typing import Any, Dict, List, Optional

from .runs import RunFolder, read_json, write_json_atomic


def summarize(accuracies: List[float]) -> Dict[str, Optional[float]]:
    """Mean over epochs and its standard error (sample std / sqrt(n); None for n < 2)."""
    n = len(accuracies)
    if n == 0:
        return {"epochs_graded": 0, "mean_accuracy": None, "stderr": None}
    mean = statistics.fmean(accuracies)
    stderr = statistics.stdev(accuracies) / math.sqrt(n) if n > 1 else None
    return {"epochs_graded": n, "mean_accuracy": mean, "stderr": stderr}


def update_summary(run: RunFolder) -> Dict[str, Any]:
    """Recompute the summary in results.json from its per-epoch entries."""
    if not run.results_file.exists():
        return {}
    data = read_json(run.results_file)
    epochs = data.get("epochs", {})
    data["summary"] = summarize([float(e["accuracy"]) for _, e in sorted(epochs.items(), key=lambda kv: int(kv[0]))])
    write_json_atomic(run.results_file, data)
    return data


def table(data: Dict[str, Any]) -> str:
    epochs = data.get("epochs", {})
    if not epochs:
        return "no graded epochs yet"
    lines = [f"{'epoch':>5}  {'accuracy':>8}  {'timeouts':>8}  {'judge errors':>12}  source",
             "-" * 60]
    for key in sorted(epochs, key=int):
        e = epochs[key]
        lines.append(f"{key:>5}  {100 * e['accuracy']:7.2f}%  {e.get('server_timeout_count', 0):>8}  "
                     f"{e.get('judge_error_count', 0):>12}  {str(e.get('source', ''))[:40]}")
    s: Dict[str, Any] = data.get("summary") or summarize([float(e["accuracy"]) for e in epochs.values()])
    lines.append("-" * 60)
    se = f" ± {100 * s['stderr']:.2f}" if s.get("stderr") is not None else ""
    lines.append(f" mean  {100 * s['mean_accuracy']:7.2f}%{se} (standard error over {s['epochs_graded']} epochs)")
    return "\n".join(lines)
