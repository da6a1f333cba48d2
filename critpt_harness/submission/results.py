"""Per-epoch grades, their mean and standard error, and the short table printed at the end.

The summary is over distinct gradings (epochs with identical batches are graded
once) and carries the provenance label (see provenance.py), in results.json
and in manifest.json.
"""

from __future__ import annotations

import math
import statistics
from typing import Any, Dict, List, Optional

from ..provenance import decide
from ..runfiles import read_json, write_json_atomic
from ..runs import RunFolder


def summarize(accuracies: List[float]) -> Dict[str, Optional[float]]:
    """Mean over epochs and its standard error (sample std / sqrt(n); None for n < 2)."""
    n = len(accuracies)
    if n == 0:
        return {"epochs_graded": 0, "mean_accuracy": None, "stderr": None}
    mean = statistics.fmean(accuracies)
    stderr = statistics.stdev(accuracies) / math.sqrt(n) if n > 1 else None
    return {"epochs_graded": n, "mean_accuracy": mean, "stderr": stderr}


def batch_problems(run: RunFolder) -> Optional[int]:
    """Problems per assembled batch (from the checks files), when known."""
    counts = []
    for path in run.batches_dir.glob("epoch_*.checks.json") if run.batches_dir.exists() else []:
        try:
            counts.append(int(read_json(path).get("problems") or 0))
        except (OSError, ValueError, AttributeError):
            continue
    return max(counts) if counts else None


def update_summary(run: RunFolder) -> Dict[str, Any]:
    """Recompute the summary and provenance in results.json; the label goes into manifest.json too."""
    if not run.results_file.exists():
        return {}
    data = read_json(run.results_file)
    prov = decide(run.stored_config() if run.config_file.exists() else {}, run.manifest(), data,
                  problems=batch_problems(run))
    data["summary"] = {**summarize(prov.accuracies), "epochs_graded": prov.epochs, "distinct_gradings": prov.distinct}
    data["provenance"] = prov.as_dict()
    write_json_atomic(run.results_file, data)
    if run.manifest_file.exists():
        run.update_manifest(score=prov.as_dict())
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
    distinct = s.get("distinct_gradings", s["epochs_graded"])
    over = (f"{distinct} distinct gradings of {s['epochs_graded']} epochs" if distinct < s["epochs_graded"]
            else f"{s['epochs_graded']} epochs")
    lines.append(f" mean  {100 * s['mean_accuracy']:7.2f}%{se} (standard error over {over})")
    prov = data.get("provenance") or {}
    if prov.get("label"):
        lines.append(f" {prov['label']}" + ("" if prov.get("ranked") else ": not an official CritPt score"))
    return "\n".join(lines)
