"""The run folder's own files are typed (contracts models) and versioned: what a run
writes validates against its model with schema_version, a file from a newer version
is refused naming both versions, and an older (unversioned) one still reads."""

from __future__ import annotations

import json

import pytest

from critpt_harness.contracts import (SCHEMA_VERSION, ChecksFile, Manifest, ResultsFile, SubmissionAttempt)
from critpt_harness.errors import RunFolderError
from critpt_harness.pipeline import cmd_run
from critpt_harness.report.command import build_report
from critpt_harness.report.config import ReportConfig
from critpt_harness.runs import RunFolder, read_json, read_jsonl, read_run_file
from tests.fakes.grader import FakeGrader

from .conftest import make_config


@pytest.fixture(scope="module")
def graded_run(public_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("files")
    with FakeGrader(api_key="g") as grader, pytest.MonkeyPatch.context() as mp:
        mp.setenv("FAKE_GRADER_KEY", "g")
        cfg = make_config(f"dataset.path={public_dir}", f"run_dir={root / 'run'}", "generation.epochs=1",
                          "generation.progress=false", "evaluator.dry_run=false", f"evaluator.url={grader.url}",
                          "evaluator.api_key_env=FAKE_GRADER_KEY", f"evaluator.ledger_path={root / 'ledger.jsonl'}",
                          "report.plot=false", "checks.execute=false")
        cmd_run(cfg, RunFolder(cfg.run_dir), echo=lambda _: None)
    return RunFolder(cfg.run_dir), root / "ledger.jsonl"


def test_every_file_the_harness_writes_matches_its_model(graded_run):
    run, ledger = graded_run
    manifest = read_run_file(run.manifest_file, Manifest)
    assert manifest.schema_version == SCHEMA_VERSION and len(manifest.problem_ids) == 70
    results = read_run_file(run.results_file, ResultsFile)
    assert results.schema_version == SCHEMA_VERSION and results.epochs["0"].accuracy >= 0
    assert results.provenance["label"]
    checks = read_run_file(run.checks_file(0), ChecksFile)
    assert checks.problems == 70
    for path in (run.submissions_file, ledger):
        lines = list(read_jsonl(path))
        assert lines and all(SubmissionAttempt.model_validate(line).schema_version == SCHEMA_VERSION
                             for line in lines)


def test_a_file_from_a_newer_version_is_refused_naming_both(graded_run, tmp_path):
    run, _ = graded_run
    newer = tmp_path / "run"
    newer.mkdir()
    for name in ("config.yaml", "manifest.json", "generations.jsonl"):
        (newer / name).write_bytes((run.path / name).read_bytes())
    data = read_json(run.results_file)
    (newer / "results.json").write_text(json.dumps({**data, "schema_version": SCHEMA_VERSION + 1}))
    with pytest.raises(RunFolderError, match=rf"results.json was written by a newer critpt-harness "
                                             rf"\(schema_version {SCHEMA_VERSION + 1}; this one reads up to "
                                             rf"{SCHEMA_VERSION}\)"):
        build_report([newer], ReportConfig(plot=False, formats=["md"]))


def test_an_unversioned_older_file_still_reads(tmp_path):
    (tmp_path / "results.json").write_text(json.dumps({"epochs": {"0": {"accuracy": 0.5}}}))
    results = read_run_file(tmp_path / "results.json", ResultsFile)
    assert results.epochs["0"].accuracy == 0.5 and results.schema_version == SCHEMA_VERSION
    (tmp_path / "results.json").write_text(json.dumps({"epochs": {"0": {"accuracy": "high"}}}))
    with pytest.raises(RunFolderError, match=r"results.json: epochs.0.accuracy: .*restore the file"):
        read_run_file(tmp_path / "results.json", ResultsFile)


def test_a_ledger_from_a_newer_version_is_refused_whatever_its_name(tmp_path):
    from critpt_harness.submit import Ledger

    path = tmp_path / "my-gradings.jsonl"  # evaluator.ledger_path may name it anything
    Ledger(path).add("h", "run", 0, {"accuracy": 0.1}, "http://grader")
    assert json.loads(path.read_text().splitlines()[0])["schema_version"] == SCHEMA_VERSION
    with path.open("a") as f:
        f.write(json.dumps({"content_hash": "h2", "url": "http://grader", "schema_version": SCHEMA_VERSION + 1}) + "\n")
    with pytest.raises(RunFolderError, match=rf"my-gradings.jsonl was written by a newer critpt-harness "
                                             rf"\(schema_version {SCHEMA_VERSION + 1}"):
        Ledger(path).entries("http://grader")
