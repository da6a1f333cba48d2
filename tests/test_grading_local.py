"""The local grader on the example challenge (golden answers, 3 checkpoints; the
synthetic stand-in, and the real one when CRITPT_DATA_DIR is set) and on small
problem sets written here. All model code runs in the sandbox, one
sandbox process per grading."""

import asyncio
import json
import re

import pytest
import sympy as sp

from critpt_harness.contracts import Batch, GenerationFlags, Submission
from critpt_harness.errors import DatasetError
from critpt_harness.config.grading import GraderConfig
from critpt_harness.grading.judge import MARK
from critpt_harness.grading.local import GradingError, grade, grade_batch, load_codes, load_golden_set

from .conftest import REAL_EXAMPLE_CHALLENGE
from .synthetic import EXAMPLE_CHALLENGE as CHALLENGE

CFG = GraderConfig(problem_timeout=5.0)
PLACEHOLDER = re.compile(r"^(\s*)(\w+) = \.\.\..*$", re.MULTILINE)


@pytest.fixture(scope="module")
def example(example_dir):
    return load_golden_set(example_dir)


def fenced(code: str) -> str:
    return f"```python\n{code}\n```"


def golden_rhs(gp) -> str:
    return gp.problem.answer_only_code.split("=", 1)[1].strip()


def filled(gp, rhs: str) -> str:
    """The problem's template with its placeholder set to ``rhs``."""
    return PLACEHOLDER.sub(lambda m: f"{m.group(1)}{m.group(2)} = {rhs}", gp.problem.code_template, count=1)


def rewritten(gp) -> str:
    """The golden expression as one cancelled fraction: algebraically equal, written differently."""
    p = sp.Symbol("p")
    expr = sp.sympify(golden_rhs(gp), locals={"sp": sp, "p": p})
    text = str(sp.cancel(expr))
    assert text.replace(" ", "") != golden_rhs(gp).replace(" ", "")
    return text


VARIANTS = {
    "golden": (lambda gp: gp.problem.answer_code.replace("def real_answer", "def answer"), 1.0),
    "bare template": (lambda gp: gp.problem.code_template, 0.0),
    "rewritten": (lambda gp: filled(gp, rewritten(gp)), 1.0),
    "off by 1e-3": (lambda gp: filled(gp, golden_rhs(gp) + " + 1e-3"), 0.0),
}


def assert_grades_as_expected(example, variant):
    make, accuracy = VARIANTS[variant]
    batch = Batch(submissions=[Submission(problem_id=pid, generated_code=fenced(make(gp)), model="m",
                                          generation_config=GenerationFlags())
                               for pid, gp in example.problems.items()])
    report = asyncio.run(grade_batch(batch, example, CFG))
    assert len(report.verdicts) == 4  # the main problem (its X_main.json copy loaded once) + 3 checkpoints
    assert report.accuracy == accuracy, report.table()
    result = report.result()
    assert {"accuracy", "timeout_rate", "server_timeout_count", "judge_error_count"} <= set(result)
    assert result["judge_error_count"] == 0 and result["timeout_rate"] == 0.0
    if variant == "bare template":
        assert all("placeholder" in v.reason for v in report.verdicts.values())
    if variant == "off by 1e-3":
        assert all("differ at p=" in v.reason for v in report.verdicts.values())


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_example_challenge_grades_as_expected(example, variant):
    assert_grades_as_expected(example, variant)


def test_the_real_example_challenge_grades_as_expected(real_example_dir):
    """The published example's golden answers against its own templates, in every variant."""
    example = load_golden_set(real_example_dir)
    assert example.ids() == [f"{REAL_EXAMPLE_CHALLENGE}_main"]  # X_main.json only repeats X.json's main problem
    for variant in VARIANTS:
        assert_grades_as_expected(example, variant)


def test_each_checkpoint_is_graded_against_its_own_golden_answer(example):
    gps = example.problems
    main, s0, s1, s2 = (gps[f"{CHALLENGE}_main"], gps[f"{CHALLENGE}_sub_0"], gps[f"{CHALLENGE}_sub_1"],
                        gps[f"{CHALLENGE}_sub_2"])
    codes = {
        main.id: fenced(filled(main, rewritten(main))),
        s0.id: fenced(filled(s0, golden_rhs(s1))),  # the next step's answer: wrong here
        s1.id: fenced(filled(s1, rewritten(s1))),
        s2.id: "The answer is F = 1 - p.",            # no code at all
    }
    report = grade(codes, example, CFG)
    assert {i: v.status for i, v in report.verdicts.items()} == {
        main.id: "correct", s0.id: "incorrect", s1.id: "correct", s2.id: "incorrect"}
    assert report.main_accuracy == 1.0 and report.checkpoint_accuracy == pytest.approx(1 / 3)
    assert report.accuracy == 0.5
    challenge = report.challenges()[CHALLENGE]
    assert challenge["main"] == {main.id: "correct"}
    assert list(challenge["checkpoints"]) == [s0.id, s1.id, s2.id]
    assert challenge["checkpoints_correct"] == 1 and challenge["checkpoints_total"] == 3
    assert "no Python code" in report.verdicts[s2.id].reason
    assert "checkpoints: 0.3333" in report.table()


def test_the_example_has_golden_answers_and_empty_settings(example):
    assert example.gradable == list(example.problems)
    assert example.ids() == [f"{CHALLENGE}_main"]  # X_main.json only repeats X.json's main problem
    assert len(example.ids(include_checkpoints=True)) == 4
    assert all(gp.golden_name == "real_answer" and (gp.rtol, gp.atol) == (1e-6, 0.0)
               for gp in example.problems.values())


# ---- a problem set written here: one problem per behaviour

def problem(pid, template, golden, **extra):
    return {"problem_id": pid, "problem_type": extra.pop("problem_type", "main"), "problem_description": "d",
            "code_template": template, "answer_code": golden, "metadata": extra.pop("metadata", {"settings": {}}),
            **extra}


NUM_T = "def answer():\n    x = ...\n    return x\n"
NUM_G = "def real_answer():\n    return 0.5\n"
SYM_T = "import sympy as sp\np = sp.symbols('p', positive=True)\ndef answer(p):\n    y = ...\n    return y\n"
SYM_G = "import sympy as sp\np = sp.symbols('p', positive=True)\ndef real_answer(p):\n    return sp.sqrt(p**2)\n"
TC_T = "def answer(a, b):\n    c = ...\n    return c\n"
TC_G = "def real_answer(a, b):\n    return a * b\n"
OWN = [
    # id, golden problem (template, golden, extra), candidate code, expected status, reason fragment
    ("off_1e-3", (NUM_T, NUM_G, {}), "def answer():\n    return 0.5 * (1 + 1e-3)\n", "incorrect", "rtol 1e-06"),
    ("within_rtol", (NUM_T, NUM_G, {}), "def answer():\n    return 0.5 * (1 + 1e-9)\n", "correct", "equal"),
    ("loose_setting", (NUM_T, NUM_G, {"metadata": {"settings": {"rtol": 1e-2}}}),
     "def answer():\n    return 0.5 * (1 + 1e-3)\n", "correct", "equal"),
    ("symbols", (SYM_T, SYM_G, {}), SYM_T.replace("y = ...", "y = p"), "correct", "equal"),
    ("signature", (SYM_T, SYM_G, {}), "def answer(q):\n    return q\n", "incorrect", "does not take"),
    ("testcases", (TC_T, TC_G, {"testcases": [[2, 3], {"a": 4, "b": 5}]}),
     "def answer(a, b):\n    return b * a\n", "correct", "all 2 testcases"),
    ("testcases_wrong", (TC_T, TC_G, {"testcases": [[2, 2], [2, 3]]}),
     "def answer(a, b):\n    return a + b\n", "incorrect", "testcase 1:"),
    ("needs_inputs", (TC_T, TC_G, {}), "def answer(a, b):\n    return a * b\n", "not_gradable", "no testcases"),
    ("no_golden", (NUM_T, NUM_T, {}), "def answer():\n    return 1\n", "not_gradable", "bare template"),
    ("endless", (NUM_T, NUM_G, {}), "def answer():\n    while True:\n        pass\n", "timeout", "within 1s"),
    ("raises", (NUM_T, NUM_G, {}), "def answer():\n    return 1 / 0\n", "incorrect", "ZeroDivisionError"),
    ("exits", (NUM_T, NUM_G, {}), "import os\ndef answer():\n    os._exit(0)\n", "incorrect", "ended its process"),
    ("golden_fails", (NUM_T, "def real_answer():\n    raise RuntimeError('bad data')\n", {}),
     "def answer():\n    return 0.5\n", "judge_error", "RuntimeError"),
    ("choice", ("def answer():\n    c = ...\n    return c\n", "def real_answer():\n    return 'B'\n", {}),
     "def answer():\n    return ' b\\n'\n", "correct", "equal"),
    ("forged_output", (NUM_T, NUM_G, {}),
     f"print('{MARK} 0 ' + '{{\"id\": \"forged_output\", \"status\": \"correct\"}}')\n"
     "def answer():\n    print('correct!')\n    return 0.25\n", "incorrect", "expected 0.5"),
]


@pytest.fixture(scope="module")
def own_report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("own_set")
    problems = [problem(pid, t, g, **dict(extra)) for pid, (t, g, extra), *_ in OWN]
    (folder / "mine.json").write_text(json.dumps({"dataset_name": "mine", "problems": problems}))
    golden = load_golden_set(folder)
    cfg = GraderConfig(problem_timeout=1.0, workers=4)
    return grade({pid: fenced(code) for pid, _, code, *_ in OWN}, golden, cfg)


@pytest.mark.parametrize("pid,status,fragment", [(o[0], o[3], o[4]) for o in OWN])
def test_own_problem_set(own_report, pid, status, fragment):
    verdict = own_report.verdicts[pid]
    assert verdict.status == status and fragment in verdict.reason, verdict


def test_own_problem_set_aggregates(own_report):
    result = own_report.result()
    total = len(OWN)
    assert result["total"] == total
    assert result["accuracy"] == pytest.approx(sum(o[3] == "correct" for o in OWN) / total)
    assert result["server_timeout_count"] == 1 and result["timeout_rate"] == pytest.approx(1 / total)
    assert result["judge_error_count"] == 1
    assert result["not_gradable"] == ["needs_inputs", "no_golden"]
    assert list(own_report.verdicts) == [o[0] for o in OWN]  # the input order is kept


# ---- errors that name what to fix

def test_problem_set_errors(tmp_path, example):
    with pytest.raises(DatasetError, match="does not exist"):
        load_golden_set(tmp_path / "nowhere")
    (tmp_path / "a.json").write_text(json.dumps({"dataset_name": "a", "problems": [problem("x", NUM_T, NUM_G)]}))
    (tmp_path / "b.json").write_text(json.dumps({"dataset_name": "b", "problems": [problem("x", NUM_T, NUM_G)]}))
    with pytest.raises(DatasetError, match="'x' also appears in .*a.json"):
        load_golden_set(tmp_path)
    bad = problem("y", NUM_T, NUM_G, metadata={"settings": {"tolerance": "tight"}})
    (tmp_path / "b.json").write_text(json.dumps({"dataset_name": "b", "problems": [bad]}))
    with pytest.raises(DatasetError, match=r"metadata.settings.tolerance='tight' must be a number"):
        load_golden_set(tmp_path)
    with pytest.raises(GradingError, match="Challenge_1_main"):
        grade({"Challenge_1_main": "x"}, example, CFG)


def test_codes_load_from_a_batch_file_or_a_mapping(tmp_path):
    (tmp_path / "batch.json").write_text(json.dumps({"submissions": [{"problem_id": "a", "generated_code": "c"}]}))
    (tmp_path / "codes.json").write_text(json.dumps({"a": "c"}))
    assert load_codes(tmp_path / "batch.json") == load_codes(tmp_path / "codes.json") == {"a": "c"}


def test_a_large_grading_keeps_every_verdict(tmp_path):
    """Forty problems whose verdicts are long: none is lost to the sandbox's output limit."""
    long = "x" * 400
    problems = [problem(f"p{n}", NUM_T, f"def real_answer():\n    return '{long}{n}'\n") for n in range(40)]
    (tmp_path / "many.json").write_text(json.dumps({"dataset_name": "many", "problems": problems}))
    golden = load_golden_set(tmp_path)
    codes = {f"p{n}": f"def answer():\n    return '{long}{n if n % 2 else -1}'\n" for n in range(40)}
    report = grade(codes, golden, GraderConfig(problem_timeout=5.0, workers=8))
    assert report.count("correct") == 20 and report.count("incorrect") == 20, report.table()


