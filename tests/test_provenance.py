"""Honest labels: one decision (provenance.decide) says what a run's score is and
who graded it, and every output follows it. Local, subset, private-set and
reused-epoch scores are labelled and never ranked or plotted with official ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict

import pytest

from critpt_harness.provenance import decide
from critpt_harness.report.command import build_report
from critpt_harness.config.report import ReportConfig
from critpt_harness.submission.results import table, update_summary
from critpt_harness.runs import RunFolder

from .test_report import ACC, make_run, write_json

LOCAL_URL = "http://127.0.0.1:8787/api/v2/critpt/evaluate"


def _results(accuracies, *, url=None, local=False, hashes=None) -> Dict[str, Any]:
    epochs = {}
    for e, a in enumerate(accuracies):
        entry = {"accuracy": a, "content_hash": (hashes or [f"h{i}" for i in range(len(accuracies))])[e],
                 "graded_at": f"2026-01-31T1{e}:00:00+00:00", "source": f"local grader {url}" if local else "grader"}
        if url:
            entry["url"] = url
        if local:
            entry["local_grader"] = True
        epochs[str(e)] = entry
    return {"epochs": epochs}


def _report(run: Path) -> Dict[str, Any]:
    result = build_report([run], ReportConfig(formats=["md", "json"], plot=False))
    return {"result": result, "md": (run / "report.md").read_text(), "json": json.loads((run / "report.json").read_text())}


def _assert_not_ranked(rep: Dict[str, Any], label: str, local: bool = True) -> None:
    md = rep["md"]
    assert label in md
    assert "places **" not in md and "Not placed: " + label in md
    assert all(e["kind"] != "run" for e in rep["json"]["leaderboard"])  # not among the ranked entries
    assert "## Not ranked: local, partial or reused gradings" in md
    assert rep["json"]["provenance"][str(rep["result"].runs[0].path)]["ranked"] is False
    assert label in rep["result"].table_text
    if local:
        assert "graded by the official CritPt grader (Artificial" not in md


# The decision -------------------------------------------------------------------------------------------
def test_only_the_official_grader_on_the_full_public_set_with_independent_epochs_is_ranked():
    official = decide({}, {}, _results(ACC), problems=70)
    assert official.ranked and official.kind == "official"
    assert official.label == "OFFICIAL grading, full public set (70 problems)"
    local = decide({"evaluator": {"url": LOCAL_URL}}, {}, _results(ACC, url=LOCAL_URL, local=True), problems=70)
    assert local.kind == "local" and not local.ranked and local.label == "LOCAL grading, 70 problems"
    subset = decide({"dataset": {"limit": 5}}, {}, _results(ACC), problems=5)
    assert not subset.ranked and subset.label == "OFFICIAL grader, 5 problems, subset: 5 of 70"
    private = decide({}, {"public_set": False}, None, {"epochs": {"0": {"accuracy": 0.5}}}, problems=3)
    assert not private.ranked and private.label == "LOCAL grading, 3 problems, private set"
    dry = decide({}, {}, None, None, problems=70, dry_run_requests=True)
    assert dry.label == "DRY RUN: nothing graded" and not dry.ranked


def test_epochs_that_reuse_one_grading_count_once():
    prov = decide({}, {}, _results([0.2, 0.2, 0.2, 0.3], hashes=["a", "a", "a", "b"]), problems=70)
    assert (prov.epochs, prov.distinct, prov.accuracies) == (4, 2, [0.2, 0.3])
    assert not prov.ranked and "2 distinct gradings over 4 epochs" in prov.label


def test_an_old_results_file_without_urls_is_judged_by_the_configured_grader():
    assert decide({"evaluator": {"url": LOCAL_URL}}, {}, _results(ACC), problems=70).kind == "local"
    assert decide({}, {}, _results(ACC), problems=70).kind == "official"


# Every output ----------------------------------------------------------------------------------------
def test_a_run_graded_by_serve_grader_is_labelled_local_everywhere(tmp_path):
    run = make_run(tmp_path / "run", accuracies=ACC)
    write_json(run / "results.json", _results(ACC, url=LOCAL_URL, local=True))
    data = update_summary(RunFolder(run))
    assert data["provenance"]["label"] == "LOCAL grading, 70 problems" and data["provenance"]["ranked"] is False
    assert json.loads((run / "manifest.json").read_text())["score"]["label"] == "LOCAL grading, 70 problems"
    assert "LOCAL grading, 70 problems: not an official CritPt score" in table(data)
    rep = _report(run)
    md = rep["md"]
    # the score first, its provenance right after
    score_at, label_at = md.index("**Score: 10.20%"), md.index("**LOCAL grading, 70 problems**")
    assert score_at < label_at < md.index("Made ")
    assert "a local grader at " + LOCAL_URL in md and "Accuracies are the official grader's" not in md
    _assert_not_ranked(rep, "LOCAL grading, 70 problems")


def test_grade_local_results_are_the_score_when_nothing_was_submitted(tmp_path):
    run = make_run(tmp_path / "run", accuracies=None)
    write_json(run / "local_grades.json", {"golden_set": "my/set", "local_grader": True, "epochs": {
        str(e): {"accuracy": a, "content_hash": f"h{e}"} for e, a in enumerate(ACC)}})
    rep = _report(run)
    assert "**Score: 10.20% ± 0.66% (SE) over 5 epochs**" in rep["md"]
    assert "grade-local (this machine, golden answers from my/set)" in rep["md"]
    _assert_not_ranked(rep, "LOCAL grading, 70 problems")


def test_local_grades_beside_an_official_score_get_their_own_section(tmp_path):
    run = make_run(tmp_path / "run", accuracies=ACC)
    write_json(run / "local_grades.json", {"epochs": {"0": {"accuracy": 0.5}}})
    md = _report(run)["md"]
    assert "**OFFICIAL grading, full public set (70 problems)**" in md and "places **" in md
    assert "### LOCAL grading, 70 problems (grade-local)" in md and "Mean 50.00% over 1 epoch(s)" in md


def test_a_subset_is_labelled_and_not_ranked(tmp_path):
    run = make_run(tmp_path / "run", accuracies=ACC, problems=12)
    _assert_not_ranked(_report(run), "OFFICIAL grader, 12 problems, subset: 12 of 70", local=False)


def test_a_private_set_is_labelled_and_not_ranked(tmp_path):
    run = make_run(tmp_path / "run", accuracies=None, problems=3)
    manifest = json.loads((run / "manifest.json").read_text())
    write_json(run / "manifest.json", {**manifest, "public_set": False})
    write_json(run / "local_grades.json", {"epochs": {str(e): {"accuracy": a} for e, a in enumerate(ACC)}})
    _assert_not_ranked(_report(run), "LOCAL grading, 3 problems, private set")


def test_reused_epochs_say_so_and_the_interval_is_over_distinct_gradings(tmp_path):
    run = make_run(tmp_path / "run", accuracies=ACC)
    write_json(run / "results.json", _results([0.1] * 5, hashes=["same"] * 5))
    rep = _report(run)
    md = rep["md"]
    assert "**Score: 10.00% over 1 distinct grading of 5 epochs**" in md
    assert "1 distinct grading over 5 epochs" in md and "SE 0.00" not in md
    assert "need at least 2 distinct gradings" in md
    assert rep["json"]["runs"][0]["stats"]["stderr"] is None
    _assert_not_ranked(rep, "OFFICIAL grader, 70 problems, 1 distinct grading over 5 epochs", local=False)


def test_two_runs_of_one_model_are_told_apart_and_only_the_official_one_is_plotted(tmp_path):
    pytest.importorskip("matplotlib")
    a = make_run(tmp_path / "runs" / "gpt-4o" / "t1", accuracies=ACC)
    b = make_run(tmp_path / "runs" / "gpt-4o" / "t2", accuracies=ACC)
    write_json(b / "results.json", _results(ACC, url=LOCAL_URL, local=True))
    result = build_report([a, b], ReportConfig(formats=["md"], output_dir=str(tmp_path / "out")))
    md = (tmp_path / "out" / "report.md").read_text()
    assert "| gpt-4o (t1) | " in md and "| gpt-4o (t2) | " in md
    assert "**gpt-4o (t1) (run)**" in md and "gpt-4o (t2) (run)" not in md  # only the official one ranked
    assert [e.name for e in result.entries if e.kind == "run"] == ["gpt-4o (t1) (run)"]
    lines = result.table_text.splitlines()
    assert "gpt-4o (t1)" in lines[1] and "OFFICIAL" in lines[1] and "gpt-4o (t2)" in lines[2] and "LOCAL" in lines[2]


def test_the_report_says_where_model_written_code_ran(tmp_path):
    run = make_run(tmp_path / "run", accuracies=ACC)
    records = (run / "generations.jsonl").read_text().splitlines()
    first = json.loads(records[0])
    first["tool_calls"] = [{"name": "python", "code": "print(1)", "isolation": "subprocess"}]
    (run / "generations.jsonl").write_text("\n".join([json.dumps(first)] + records[1:]) + "\n")
    checks = json.loads((run / "batches" / "epoch_0.checks.json").read_text())
    write_json(run / "batches" / "epoch_0.checks.json", {**checks, "isolation": ["bwrap"]})
    md = _report(run)["md"]
    assert ("| model-written code ran in | python tool: subprocess: model code ran UNISOLATED (chosen: "
            "sandbox.backend=subprocess); it could read and write your files; execution checks: bwrap (its own "
            "folder only, no network) |") in md


def test_the_report_lists_where_the_set_up_differs_from_the_official_one(tmp_path):
    from critpt_harness.fidelity import differences

    code = {"generation": {"use_python": True, "tools": {"bash": True, "max_calls": None, "max_seconds": None,
                                                         "sandbox": {"timeout": 1800, "block_network": True,
                                                                     "memory_mb": 8192}}}}
    official_prompts = {"prompts": {"source": "official"}}
    assert differences(code, official_prompts) == [
        "tools: model code has no network (official: on); kept off so that model-written code cannot reach your "
        "network", "tools: model code memory capped at 8192 MB (official: no cap)"]
    ours = {"generation": {"use_python": True, "tools": {"bash": False, "max_calls": 30, "max_seconds": 600,
                                                         "sandbox": {"timeout": 60, "block_network": False}}},
            "evaluator": {"messages": "full", "generated_code": "extracted"}}
    found = differences(ours, {})
    assert len(found) == 7 and found[0].startswith("prompts: paraphrased")
    assert differences({}, official_prompts) == []
    run = make_run(tmp_path / "run", accuracies=ACC)
    md = _report(run)["md"]
    assert "### Differences from the official set-up" in md and "prompts: paraphrased" in md


def test_the_public_set_size_is_the_pinned_sets():
    from critpt_harness.data.problems import PUBLIC_IDS
    from critpt_harness.provenance import PUBLIC_SET_SIZE

    assert PUBLIC_SET_SIZE == len(PUBLIC_IDS)
