"""`grade-local` and `serve-grader`: grading here, against golden answers (never an official score)."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, Optional

from ..config import HarnessConfig
from ..errors import ConfigError, RunFolderError
from ..runfiles import read_json, write_json_atomic
from ..runs import RunFolder, now_iso
from . import Echo
from .sandbox import announce


def cmd_grade_local(cfg: HarnessConfig, run: RunFolder, echo: Echo = print) -> None:
    """Grade the run's batches here, against a problem set with golden answers."""
    from ..grading.local import grade_batch, load_golden_set
    from ..provenance import decide
    from ..submission.results import batch_problems, summarize
    from ..submission.submit import assembled_epochs

    stored = run.stored_config()
    source = cfg.grader.problems or (stored.get("dataset") or {}).get("path")
    if not source:
        raise ConfigError("grade-local needs grader.problems=<folder or file of challenges with golden answers>")
    announce(cfg, echo, tools=False, checks=False, judge=True, run=run)  # the judge runs model code: without isolation it refuses
    golden = load_golden_set(source, cfg.grader.rtol, cfg.grader.atol)
    epochs = list(cfg.evaluator.epochs) or assembled_epochs(run)
    if not epochs:
        raise RunFolderError(f"no batches in {run.batches_dir}: run `critpt-harness assemble run_dir={run.path}`")
    graded: Dict[str, Any] = {}
    for epoch in epochs:
        batch = read_json(run.batch_file(epoch))
        report = asyncio.run(grade_batch(batch, golden, cfg.grader))
        graded[str(epoch)] = {**report.result(), "main_accuracy": report.main_accuracy,
                              "checkpoint_accuracy": report.checkpoint_accuracy, "challenges": report.challenges(),
                              "content_hash": _content_hash(batch)}
        echo(f"epoch {epoch}:\n{report.table()}")
    data: Dict[str, Any] = {"graded_at": now_iso(), "golden_set": str(source), "local_grader": True, "epochs": graded}
    prov = decide(stored, run.manifest(), None, data, batch_problems(run))
    data["summary"] = {**summarize(prov.accuracies), "epochs_graded": prov.epochs, "distinct_gradings": prov.distinct}
    data["provenance"] = prov.as_dict()
    write_json_atomic(run.path / "local_grades.json", data)
    s = data["summary"]
    se = f" ± {100 * s['stderr']:.2f}" if s["stderr"] is not None else ""
    echo(f"{prov.label} (NOT the official grader): mean accuracy {100 * s['mean_accuracy']:.2f}%{se}"
         + (f" over {prov.distinct} distinct grading(s) of {prov.epochs} epochs" if prov.reused
            else f" over {prov.epochs} epoch(s)") + f"; written to {run.path / 'local_grades.json'}")


def _content_hash(batch: Dict[str, Any]) -> Optional[str]:
    """The batch's content identity (as the submitter's ledger uses), so identical epochs count once."""
    from ..batches.batch import Batch, submissions_hash

    try:
        return submissions_hash(Batch.model_validate(batch))
    except ValueError:  # pydantic's ValidationError; a batch grade_batch accepted but our model does not
        return None


def cmd_serve_grader(cfg: HarnessConfig, run: RunFolder, echo: Echo = print) -> None:
    """A local grader with the evaluate endpoint's contract, grading with golden answers."""
    from ..grading.server import serve_grader
    from ..tools.sandbox import choose, describe

    echo(describe(choose(cfg.grader.sandbox)))  # the judge runs model code: without isolation it refuses
    serve_grader(cfg.grader, echo=echo)
