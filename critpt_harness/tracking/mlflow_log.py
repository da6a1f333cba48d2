"""Logging a run folder to MLflow: one MLflow run per run folder, found again by a tag, updated at
each stage end.

- params: every identity setting (named by its config key) and the model, set-up and set version;
- metrics named by what the score is: ``official.*`` only for a ranked official score, else
  ``local.*`` or ``unranked.*`` (a subset, reused epochs), so a sort in MLflow never mixes them;
  per-epoch accuracy at step = epoch, the mean, standard error and interval; tokens, cost, checks;
- tags: the report's score label and grader, the run folder, the last stage;
- artifacts: report, manifest, results, local grades, config and the checks files.

Offline by default: MLflow's local file store (runs/mlruns).
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any, Dict, List

DEFAULT_STORE = "runs/mlruns"
ARTIFACTS = ("report.md", "report.html", "report.png", "manifest.json", "results.json", "local_grades.json",
             "config.yaml")
PARAM_LIMIT = 6000  # characters MLflow keeps in a param value


def tracking_uri(uri: str | None) -> str:
    """A folder (MLflow's file store) as a file: URI; any other URI as it is."""
    if uri and "://" in uri:
        return uri
    return Path(uri or DEFAULT_STORE).resolve().as_uri()


def score_prefix(prov: Any) -> str:
    return "official" if prov.ranked else "local" if prov.kind == "local" else "unranked"


def log_stage(cfg: Any, path: Path, stage: str) -> str:
    """Log the run at ``path`` as it stands after ``stage``; returns the MLflow run's id."""
    uri = tracking_uri(cfg.tracking.uri)
    if uri.startswith("file:"):  # MLflow 3 keeps its file store only for those who ask for it
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.tracking import MlflowClient

    from ..analysis.summary import epoch_rows, load, run_row

    view = load(path, cfg.report)
    row, prov = run_row(view), view.data.provenance
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name(cfg.tracking.experiment)
    exp_id = experiment.experiment_id if experiment else client.create_experiment(cfg.tracking.experiment)
    key = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
    found = client.search_runs([exp_id], f"tags.`critpt.run_key` = '{key}'", max_results=1)
    run_id = found[0].info.run_id if found else client.create_run(
        exp_id, run_name=f"{row.label} {path.name}", tags={"critpt.run_key": key}).info.run_id
    logged = client.get_run(run_id).data.params
    params: Dict[str, Any] = {"model": row.model, "label": row.label, "provider": row.provider,
                              "set_version": row.set_version, "protocol": row.protocol, "tools": row.tools,
                              "prompts": row.prompts, "dataset_sha256": row.dataset_sha256, **row.settings}
    # Params cannot change in MLflow; a setting accepted as changed on resume is a tag instead.
    new = [Param(k, str(v)[:PARAM_LIMIT]) for k, v in params.items() if k not in logged]
    changed = {f"critpt.changed.{k}": str(v)[:PARAM_LIMIT] for k, v in params.items()
               if k in logged and logged[k] != str(v)[:PARAM_LIMIT]}
    now = int(time.time() * 1000)
    prefix = score_prefix(prov)
    metrics: List[Any] = []
    if prov.epochs:
        done = {m.step for m in client.get_metric_history(run_id, f"{prefix}.accuracy")}
        metrics += [Metric(f"{prefix}.accuracy", e.accuracy, now, e.epoch) for e in epoch_rows(view)
                    if e.accuracy is not None and e.epoch not in done]
        for name in ("mean", "stderr", "ci_low", "ci_high"):
            value = getattr(row, name)
            if value is not None:
                metrics.append(Metric(f"{prefix}.{'mean_accuracy' if name == 'mean' else name}", value, now, prov.epochs))
    for name in ("items_ok", "items_failed", "prompt_tokens", "completion_tokens", "reasoning_tokens", "cost_usd",
                 "checks_passed", "checks_problems", "tool_calls", "elapsed_seconds", "local_correct_rate"):
        value = getattr(row, name)
        if value is not None:
            metrics.append(Metric(name, float(value), now, 0))
    tags = {"critpt.run_dir": str(path.resolve()), "critpt.score_label": prov.label, "critpt.grading": prov.kind,
            "critpt.ranked": str(prov.ranked).lower(), "critpt.graded_by": prov.grader, "critpt.stage": stage,
            "critpt.set_version": row.set_version, **changed}
    client.log_batch(run_id, metrics=metrics, params=new, tags=[RunTag(k, v) for k, v in tags.items()])
    if cfg.tracking.artifacts:
        for name in ARTIFACTS:
            if (path / name).is_file():
                client.log_artifact(run_id, str(path / name))
        for checks in sorted((path / "batches").glob("epoch_*.checks.json")):
            client.log_artifact(run_id, str(checks), "batches")
    client.set_terminated(run_id, "FINISHED")
    return run_id
