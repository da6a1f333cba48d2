"""A folder that holds a challenge and a copy of its main problem alone (CritPt's
example ships X.json and X_main.json) is loaded once, by the run and by the local
grader; and serve-grader says how to grade checkpoints it was not started for."""

from __future__ import annotations

import json
from pathlib import Path

from critpt_harness.config.grading import GraderConfig
from critpt_harness.grading.local import load_golden_set
from critpt_harness.grading.server import LocalGraderServer
from critpt_harness.data.problems import load_directory

TEMPLATE = "def answer():\n    return ...\n"


def _problem(pid: str, kind: str, index: int, question: str) -> dict:
    return {"problem_id": pid, "problem_type": kind, "problem_index": index, "problem_description": question,
            "code_template": TEMPLATE, "answer_code": "def real_answer():\n    return 1.0\n"}


def write_example(folder: Path) -> Path:
    folder.mkdir()
    full = {"dataset_name": "toy", "problems": [_problem("toy_main", "main", 0, "Find the main value."),
                                                _problem("toy_sub_0", "sub", 0, "First, the small value.")]}
    alone = {"dataset_name": "toy_main", "problems": [_problem("toy_main_main", "main", 0, "Find the main value.")]}
    (folder / "toy.json").write_text(json.dumps(full))
    (folder / "toy_main.json").write_text(json.dumps(alone))
    return folder


def test_the_main_problem_copied_into_its_own_file_is_loaded_once(tmp_path, caplog):
    folder = write_example(tmp_path / "example")
    problems = load_directory(folder, expect_public=False, checkpoints=True)
    assert problems.ids == ["toy_main", "toy_sub_0"]
    assert "toy_main.json: every problem in it is also in" in caplog.text
    assert sorted(load_golden_set(folder).problems) == ["toy_main", "toy_sub_0"]


def test_a_file_with_one_new_problem_is_kept(tmp_path):
    folder = write_example(tmp_path / "example")
    other = json.loads((folder / "toy_main.json").read_text())
    other["problems"][0]["problem_description"] = "A different question."
    (folder / "toy_main.json").write_text(json.dumps(other))
    assert load_directory(folder, expect_public=False).ids == ["toy_main", "toy_main_main"]


def test_serve_grader_says_how_to_grade_checkpoints(tmp_path):
    golden = load_golden_set(write_example(tmp_path / "example"))
    server = LocalGraderServer(golden, GraderConfig(), "key")
    error = server.coverage_error(["toy_main", "toy_sub_0"])
    assert error is not None and "unknown 1: toy_sub_0" in error and "grader.include_checkpoints=true" in error
    assert server.coverage_error(["toy_main"]) is None
