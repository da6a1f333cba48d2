"""The run folder's own files are typed (contracts models) and versioned: what a run
writes validates against its model with schema_version, a file from a newer version
is refused naming both versions, and an older (unversioned) one still reads."""

from __future__ import annotations

import json
from typing import Any, Dict, List

import pytest

from critpt_harness.contracts import (SCHEMA_VERSION, AnswerRecord, ChecksFile, GenerationRecord, Manifest, RecordSummary, ToolCallSummary,
                                     ResultsFile, SubmissionAttempt)
from critpt_harness.errors import RunFolderError
from critpt_harness.tools.spawn import SandboxResult
from critpt_harness.commands.run import cmd_run
from critpt_harness.report.command import build_report
from critpt_harness.config.report import ReportConfig
from critpt_harness.runfiles import NewerVersionError, read_json, read_jsonl, read_jsonl_as, read_run_file
from critpt_harness.runs import RunFolder
from tests.fakes.grader import FakeGrader

from .conftest import make_config, run_cli
from .test_report import ACC, make_run


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
    from critpt_harness.submission.ledger import Ledger

    path = tmp_path / "my-gradings.jsonl"  # evaluator.ledger_path may name it anything
    Ledger(path).add("h", "run", 0, {"accuracy": 0.1}, "http://grader")
    assert json.loads(path.read_text().splitlines()[0])["schema_version"] == SCHEMA_VERSION
    with path.open("a") as f:
        f.write(json.dumps({"content_hash": "h2", "url": "http://grader", "schema_version": SCHEMA_VERSION + 1}) + "\n")
    with pytest.raises(RunFolderError, match=rf"my-gradings.jsonl was written by a newer critpt-harness "
                                             rf"\(schema_version {SCHEMA_VERSION + 1}"):
        Ledger(path).entries("http://grader")


# The report reads every run file through its model ------------------------------------------------------
NEWER = SCHEMA_VERSION + 1
REPORT_FILES = ("report.md", "report.html", "report.json", "report.png")


def _fixture_run(root):
    run = make_run(root, accuracies=ACC, epochs=2)  # files as an older harness wrote them: unversioned
    (run / "local_grades.json").write_text(json.dumps({"golden_set": "g", "local_grader": True,
                                                       "epochs": {"0": {"accuracy": 0.2}}}))
    return run


def _stamp(path, version):
    if path.suffix == ".jsonl":
        lines = [json.loads(line) for line in path.read_text().splitlines()]
        path.write_text("".join(json.dumps({**line, "schema_version": version}) + "\n" for line in lines))
    else:
        path.write_text(json.dumps({**json.loads(path.read_text()), "schema_version": version}))


@pytest.mark.parametrize("name", ["manifest.json", "results.json", "local_grades.json", "batches/epoch_1.checks.json",
                                  "generations.jsonl"])
def test_the_report_refuses_a_newer_run_file_naming_it_and_both_versions(tmp_path, name):
    run = _fixture_run(tmp_path / "run")
    _stamp(run / name, NEWER)
    with pytest.raises(NewerVersionError, match=rf"{name} was written by a newer critpt-harness \(schema_version "
                                                rf"{NEWER}; this one reads up to {SCHEMA_VERSION}\)"):
        build_report([run], ReportConfig(formats=["md", "html", "json"]))
    assert not [f for f in REPORT_FILES if (run / f).exists()]


def test_the_report_command_exits_non_zero_on_a_newer_file_and_writes_nothing(tmp_path):
    first, second = _fixture_run(tmp_path / "a"), _fixture_run(tmp_path / "b")
    _stamp(second / "results.json", NEWER)
    out = run_cli("report", f"report.runs=[{first},{second}]", f"report.output_dir={tmp_path / 'out'}",
                  "catalog.enabled=false", cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    assert f"{second / 'results.json'} was written by a newer critpt-harness (schema_version {NEWER}" in out.stderr
    assert not (tmp_path / "out").exists() and not [f for f in REPORT_FILES if (first / f).exists()]


def test_unversioned_run_files_give_the_same_report_as_stamped_ones(tmp_path):
    old, new = _fixture_run(tmp_path / "old"), _fixture_run(tmp_path / "new")
    for name in ("manifest.json", "results.json", "local_grades.json", "batches/epoch_0.checks.json",
                 "batches/epoch_1.checks.json", "generations.jsonl"):
        _stamp(new / name, SCHEMA_VERSION)
    for run in (old, new):
        build_report([run], ReportConfig(plot=False, formats=["md", "json"]))

    def text(run):  # the run's own folder name and the time of making aside
        return [line.replace(str(run), "RUN") for line in (run / "report.md").read_text().splitlines()
                if not line.startswith("Made ")]

    assert text(old) == text(new) and "mean accuracy: 10.20%" in (old / "report.md").read_text()
    assert json.loads((old / "report.json").read_text())["runs"][0]["usage"]["records"] == 140


def test_an_older_file_is_brought_to_todays_shape_by_its_model(tmp_path, monkeypatch):
    import critpt_harness.contracts as contracts

    class Renamed(ResultsFile):  # as if version 2 renamed `scores` (version 1) to `epochs`
        @classmethod
        def upgrade(cls, data, version):
            seen.append(version)
            return {**data, "epochs": data.pop("scores", {})} if version < 2 else data

    seen: list = []
    monkeypatch.setattr(contracts, "SCHEMA_VERSION", 2)
    for version in (None, 1):
        (tmp_path / "results.json").write_text(json.dumps({"scores": {"0": {"accuracy": 0.25}},
                                                           **({"schema_version": version} if version else {})}))
        assert read_run_file(tmp_path / "results.json", Renamed).epochs["0"].accuracy == 0.25
    (tmp_path / "results.json").write_text(json.dumps({"epochs": {"0": {"accuracy": 0.5}}, "schema_version": 2}))
    assert read_run_file(tmp_path / "results.json", Renamed).epochs["0"].accuracy == 0.5
    assert seen == [1, 1]  # an unversioned file is version 1; a current one is not upgraded


@pytest.mark.parametrize("narrow", [RecordSummary, AnswerRecord])
def test_the_records_summary_is_a_part_of_the_generation_record(narrow):
    """The narrow views of generations.jsonl (the report's, the assembler's) cannot drift from what
    generation writes."""
    full = GenerationRecord.model_fields
    for name, field in narrow.model_fields.items():
        if name == "tool_calls" and field.annotation == List[ToolCallSummary]:
            # the record keeps each call as a dict (tools.calls.execute): the summary's keys are among them
            written = {"duration_s", *SandboxResult("", "", 0, False, 0.1, False, True).record()}
            assert set(ToolCallSummary.model_fields) <= written and full[name].annotation == List[Dict[str, Any]]
        elif name != "schema_version":
            assert name in full and field.annotation == full[name].annotation, name
            assert field.is_required() == full[name].is_required(), name


def test_typed_jsonl_lines_skip_torn_lines_and_count_misfits(tmp_path, caplog):
    run = _fixture_run(tmp_path / "run")
    path = run / "generations.jsonl"
    good = path.read_text().splitlines()[0]
    path.write_text(f"{good}\n{{\"problem_id\": \"x\"}}\n\n{good[:40]}")
    records, misfits = read_jsonl_as(path, RecordSummary)
    assert [r.problem_id for r in records] == ["Challenge_1_main"] and misfits == 1
    assert "line 4 is not valid JSON" in caplog.text
