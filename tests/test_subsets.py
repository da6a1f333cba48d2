"""A subset of the public set (dataset.ids / dataset.limit) is a smoke test: it is
generated, assembled and checked like the full set, never posted or written as a
grading request, and labelled "subset: N of 70" wherever it shows."""

from __future__ import annotations

import json

import pytest

from critpt_harness.errors import BatchError, ConfigError, DatasetError
from critpt_harness.commands.run import cmd_run
from critpt_harness.commands.submission import cmd_submit
from critpt_harness.data.problems import ProblemSet, Problem, select
from critpt_harness.runs import RunFolder
from tests.fakes.grader import FakeGrader

from .conftest import make_config

TEMPLATE = "def answer():\n    return ...\n"


def toy_set(n: int = 5) -> ProblemSet:
    problems = tuple(Problem(problem_id=f"Challenge_{i}_main", problem_description=f"Question {i}.",
                             code_template=TEMPLATE) for i in range(1, n + 1))
    return ProblemSet(problems, "toy", "0" * 64)


def test_ids_and_limit_select_in_the_sets_stable_order():
    full = toy_set()
    assert select(full, [], None) is full
    assert select(full, [], 2).ids == ["Challenge_1_main", "Challenge_2_main"]
    picked = select(full, ["Challenge_4_main", "Challenge_2_main"], None)
    assert picked.ids == ["Challenge_2_main", "Challenge_4_main"] and picked.full_size == 5 and picked.subset
    assert select(full, ["Challenge_4_main", "Challenge_2_main"], 1).ids == ["Challenge_2_main"]
    assert picked.sha256 != full.sha256 and select(full, [], 2).sha256 != picked.sha256


def test_an_unknown_id_or_a_zero_limit_is_a_clear_error():
    with pytest.raises(DatasetError, match="dataset.ids: Challenge_99_main not in the problem set"):
        select(toy_set(), ["Challenge_99_main"], None)
    with pytest.raises(ConfigError, match="dataset.limit=0: must be at least 1"):
        make_config("dataset.limit=0")


def test_a_subset_run_stops_after_the_checks_and_posts_nothing(public_dir, tmp_path):
    run_dir = tmp_path / "run"
    with FakeGrader(api_key="g") as grader:
        # no grader key set: a subset never needs one
        cfg = make_config(f"dataset.path={public_dir}", "dataset.limit=3", "generation.epochs=2",
                          f"run_dir={run_dir}", "evaluator.dry_run=false", f"evaluator.url={grader.url}",
                          "evaluator.api_key_env=FAKE_GRADER_KEY", "generation.progress=false", "report.plot=false")
        lines: list = []
        cmd_run(cfg, RunFolder(run_dir), echo=lines.append)
        run = RunFolder(run_dir)
        assert [len(json.loads(run.batch_file(e).read_text())["submissions"]) for e in (0, 1)] == [3, 3]
        assert run.manifest()["subset"] == {"problems": 3, "of": 70}
        assert any("a subset (3 of 70 problems): stopping after the checks" in line for line in lines)
        for dry_run in ("true", "false"):
            with pytest.raises(BatchError, match=r"subset of the public set \(3 of 70"):
                cmd_submit(make_config(f"run_dir={run_dir}", f"evaluator.url={grader.url}",
                                       f"evaluator.dry_run={dry_run}"), run, echo=lambda _: None)
        assert grader.requests == [] and not (run_dir / "requests").exists() and not run.results_file.exists()
    md = (run_dir / "report.md").read_text()
    assert "| problems | subset: 3 of 70 (dataset.ids / dataset.limit) |" in md
    assert "a subset is never posted to the official grader" in md
