"""tracking=mlflow: the real pipeline logs each stage end to MLflow's local file store, read back
here with MLflow's own client; a tracking failure is a warning and loses nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from critpt_harness.commands import handler
from critpt_harness.commands.run import cmd_run
from critpt_harness.errors import ConfigError
from critpt_harness.runs import RunFolder
from critpt_harness.tracking import check, stage_end
from tests.fakes.llm import FakeLLMServer

from .conftest import llm_overrides, make_config
from .reading_runs import CORRECT_A, PROBLEMS, scripted, write_golden_set

mlflow = pytest.importorskip("mlflow", reason="needs mlflow-skinny (pip install -e '.[test]')")


def _client(store: Path):
    import os

    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=store.resolve().as_uri())


def _runs(store: Path):
    client = _client(store)
    experiment = client.get_experiment_by_name("critpt")
    return client, (client.search_runs([experiment.experiment_id]) if experiment else [])


def test_each_stage_end_logs_the_run_to_mlflow(tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_LLM_KEY", "k")
    golden = write_golden_set(tmp_path / "golden")
    store = tmp_path / "mlruns"
    with FakeLLMServer(reply=scripted(CORRECT_A)) as llm:
        cfg = make_config(*llm_overrides(llm.url, tmp_path / "run", f"dataset.path={golden}", "dataset.public=false",
                                         "generation.epochs=2", "generation.concurrency=1", "report.plot=false",
                                         "tracking=mlflow", f"tracking.uri={store}"))
        lines = []
        cmd_run(cfg, RunFolder(cfg.run_dir), echo=lines.append)
    assert not [x for x in lines if x.startswith("warning: tracking")], lines
    client, found = _runs(store)
    assert len(found) == 1
    logged = found[0]
    grades = json.loads((tmp_path / "run" / "local_grades.json").read_text())
    # identity settings as params, named by their config keys
    assert logged.data.params["model.name"] == "fake-model" and logged.data.params["generation.parsing"] == "False"
    assert logged.data.params["set_version"] == "private set"
    # per-epoch scores under the name of what they are: a local grading, never "official"
    history = client.get_metric_history(logged.info.run_id, "local.accuracy")
    assert sorted((m.step, m.value) for m in history) == [(int(e), g["accuracy"]) for e, g in sorted(grades["epochs"].items())]
    assert logged.data.metrics["local.mean_accuracy"] == pytest.approx(sum(CORRECT_A.values()) / (2 * PROBLEMS))
    assert not any(k.startswith("official.") for k in logged.data.metrics)
    assert logged.data.tags["critpt.score_label"] == "LOCAL grading, 8 problems, private set"
    assert logged.data.tags["critpt.ranked"] == "false" and logged.data.tags["critpt.stage"] == "report"
    assert logged.info.status == "FINISHED"
    artifacts = {a.path for a in client.list_artifacts(logged.info.run_id)}
    assert {"report.md", "manifest.json", "local_grades.json", "config.yaml", "batches"} <= artifacts
    # a later stage command updates the same MLflow run and logs no epoch twice
    handler("report")(cfg, RunFolder(cfg.run_dir), lambda line: None)
    client, again = _runs(store)
    assert [r.info.run_id for r in again] == [logged.info.run_id]
    assert len(client.get_metric_history(logged.info.run_id, "local.accuracy")) == 2


def test_a_tracking_failure_is_a_warning_and_the_run_is_untouched(graded_runs, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(graded_runs["A"], run)
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the store would go")
    cfg = make_config(f"run_dir={run}", "tracking=mlflow", f"tracking.uri={blocker}/mlruns")
    lines = []
    stage_end(cfg, RunFolder(run), "report", lines.append)
    assert len(lines) == 1 and lines[0].startswith("warning: tracking (mlflow) failed after report:")
    assert "the run itself is unaffected" in lines[0]
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before


def test_tracking_that_cannot_run_is_a_config_error_before_any_work(monkeypatch):
    with pytest.raises(ConfigError, match="tracking.backend='wandb'"):
        check(make_config("tracking.backend=wandb"))
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mlflow" else real(name, *a))
    with pytest.raises(ConfigError, match=r"pip install 'critpt-harness\[tracking\]'") as err:
        check(make_config("tracking=mlflow"))
    assert err.value.exit_code == 2
    check(make_config())  # tracking=none needs nothing
