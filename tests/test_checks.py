"""Execution checks: answers run in the sandbox with the template's symbols."""

import asyncio
import json

import pytest

from critpt_harness.checks.sandboxed import execution_checks, template_shape
from critpt_harness.config import ChecksConfig
from critpt_harness.errors import BatchError
from critpt_harness.generation.models.mock import fill_template
from critpt_harness.commands.batches import cmd_assemble, cmd_check
from critpt_harness.commands.generate import cmd_generate
from critpt_harness.data.problems import load_directory
from critpt_harness.runfiles import read_json
from critpt_harness.runs import RunFolder

from .conftest import make_config


@pytest.fixture(scope="module")
def problems(public_dir):
    return {p.problem_id: p for p in load_directory(public_dir).problems}


def check(problems, cases, **cfg):
    items = [(problems[pid], code) for pid, code in cases]
    return asyncio.run(execution_checks(items, ChecksConfig(timeout_per_problem=cfg.pop("timeout", 3), **cfg)))


def assert_67_executable_and_shapes_read(problems):
    shapes = {pid: template_shape(p.code_template) for pid, p in problems.items()}
    assert sorted(pid for pid, s in shapes.items() if not s.executable) == [
        "Challenge_20_main", "Challenge_45_main", "Challenge_62_main"]
    assert shapes["Challenge_2_main"].n_values == 3
    assert shapes["Challenge_2_main"].choices["answer_beta"] == ("A", "B", "C", "D")
    # a name bound by an import is an argument the template defines
    assert "c" in problems["Challenge_25_main"].answer_args and shapes["Challenge_25_main"].executable


def test_67_templates_are_executable_and_shapes_are_read(problems):
    assert_67_executable_and_shapes_read(problems)


def test_the_real_67_templates_are_executable_and_shapes_are_read(real_public_dir):
    assert_67_executable_and_shapes_read({p.problem_id: p for p in load_directory(real_public_dir).problems})


def test_every_filled_template_passes_the_execution_checks(problems):
    """Each answer shape (floats, lists, tuples, bools, sets, choices, sympy expressions with
    assumptions, an import-bound name) filled with a value runs and passes."""
    values = {"Challenge_2_main": None, "Challenge_14_main": "'C'", "Challenge_33_main": None,
              "Challenge_4_main": "{(-1, 1), (1, -1)}", "Challenge_6_main": "(1, -2, 1)",
              "Challenge_13_main": "{(1, sp.Rational(1, 4)), (0, sp.Rational(1, 2)), (-1, sp.Rational(1, 4))}",
              "Challenge_25_main": "E_p * z / (c * t_v)", "Challenge_40_main": "{chi * k**2, -sigma * k}",
              "Challenge_53_main": "d * 2**(d - 1)", "Challenge_42_main": "True"}
    cases = [(pid, fill_template(p.code_template, values.get(pid) or "1")) for pid, p in problems.items()
             if pid not in ("Challenge_2_main", "Challenge_33_main")]
    cases.append(("Challenge_2_main", problems["Challenge_2_main"].code_template
                  .replace("Lambda = ...", "Lambda = lambda_plus * k_minus / (k_plus + k_minus)")
                  .replace("answer_beta = ...", "answer_beta = 'C'").replace("answer_sigma2 = ...", "answer_sigma2 = 'B'")))
    cases.append(("Challenge_33_main", problems["Challenge_33_main"].code_template
                  .replace("species = ...", "species = {'A', 'C'}").replace("code = ...", "code = 12.0")
                  .replace("s = ...", "s = 3.5")))
    res = check(problems, cases)
    assert {pid for pid, r in res.items() if r.status == "skipped"} == {
        "Challenge_20_main", "Challenge_45_main", "Challenge_62_main"}
    assert {pid: r.problems for pid, r in res.items() if r.status == "fail"} == {}
    # c is the imported sympy quantity, E_p the template's module-level expression of it
    assert res["Challenge_25_main"].returned.replace(" ", "") == "speed_of_light*m_p*z/(2*E_s*t_v*(z+1)**2)"


def test_right_and_wrong_answers(problems):
    t22, t2, t7 = (problems[f"Challenge_{n}_main"].code_template for n in (22, 2, 7))
    cases = [
        ("Challenge_22_main", fill_template(t22, "sp.sqrt(x) + 1")),                      # right
        ("Challenge_7_main", fill_template(t7, "F*k*n*d*q/(1 - q)")),                   # right, symbols
        ("Challenge_2_main", t2.replace("return Lambda, answer_beta, answer_sigma2", "return Lambda, answer_beta")
         .replace("Lambda = ...", "Lambda = 1").replace("answer_beta = ...", "answer_beta = 'A'")
         .replace("answer_sigma2 = ...", "answer_sigma2 = 'B'")),                        # wrong arity
        ("Challenge_1_main", fill_template(problems["Challenge_1_main"].code_template, "1/0")),  # exception
        ("Challenge_3_main", problems["Challenge_3_main"].code_template),               # placeholder left
        ("Challenge_60_main", fill_template(problems["Challenge_60_main"].code_template, "sp.Symbol('u')")),
        ("Challenge_5_main", fill_template(problems["Challenge_5_main"].code_template, "float('nan')")),
        ("Challenge_20_main", fill_template(problems["Challenge_20_main"].code_template, "1.0")),  # not executable
    ]
    res = check(problems, cases)
    assert res["Challenge_22_main"].status == "pass" and "sqrt(x) + 1" in res["Challenge_22_main"].returned
    assert res["Challenge_7_main"].status == "pass"
    assert "returns 2 value(s); the template returns 3" in res["Challenge_2_main"].problems[0]
    assert res["Challenge_1_main"].problems == ["raised ZeroDivisionError: division by zero"]
    assert "placeholder" in res["Challenge_3_main"].problems[0]
    assert "free symbols u are not among the arguments" in res["Challenge_60_main"].problems[0]
    assert "non-finite" in res["Challenge_5_main"].problems[0]
    assert res["Challenge_20_main"].status == "skipped"


def test_a_choice_outside_the_documented_ones(problems):
    t2 = problems["Challenge_2_main"].code_template
    code = t2.replace("Lambda = ...", "Lambda = 1").replace("answer_beta = ...", "answer_beta = 'E'") \
        .replace("answer_sigma2 = ...", "answer_sigma2 = 'B'")
    res = check(problems, [("Challenge_2_main", code)])
    assert res["Challenge_2_main"].problems == ["answer_beta='E' is not one of ['A', 'B', 'C', 'D']"]


def test_an_endless_loop_or_a_killed_process_costs_only_that_answer(problems):
    fill = {pid: fill_template(problems[pid].code_template) for pid in ("Challenge_1_main", "Challenge_4_main",
                                                                        "Challenge_9_main", "Challenge_10_main")}
    cases = [
        ("Challenge_1_main", fill["Challenge_1_main"]),
        ("Challenge_4_main", fill["Challenge_4_main"].replace("def answer", "def _x():\n    pass\n\ndef answer")
         .replace("    return", "    while True:\n        pass\n    return")),
        ("Challenge_9_main", "import os\nos._exit(3)\n" + fill["Challenge_9_main"]),
        ("Challenge_10_main", "print('noise')\n" + fill["Challenge_10_main"]),
        # an answer that swallows every Exception still stops at its time limit
        ("Challenge_11_main", fill_template(problems["Challenge_11_main"].code_template).replace(
            "    return", "    while True:\n        try:\n            pass\n        except Exception:\n            pass\n    return")),
    ]
    res = check(problems, cases, timeout=1)
    assert res["Challenge_1_main"].status == "pass" and res["Challenge_10_main"].status == "pass"
    assert "did not return within 1" in res["Challenge_4_main"].problems[0]
    assert "ended the check process (exit code 3)" in res["Challenge_9_main"].problems[0]
    assert "did not return within 1" in res["Challenge_11_main"].problems[0]


def test_check_command_and_block_policy(public_dir, tmp_path):
    cfg = make_config(f"dataset.path={public_dir}", f"run_dir={tmp_path / 'run'}", "generation.epochs=1",
                      "generation.progress=false")
    run = RunFolder(cfg.run_dir)
    cmd_generate(cfg, run, echo=lambda s: None)
    lines = run.generations_file.read_text().splitlines()
    records = [json.loads(line) for line in lines]
    for r in records:
        if r["problem_id"] == "Challenge_22_main":  # still passes the static checks, fails when run
            r["extracted_code"] = r["extracted_code"].replace("f = 0", "f = 1/0")
    run.generations_file.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    out = []
    cmd_check(cfg, run, echo=out.append)
    table = out[-1]
    assert "Challenge_22_main" in table and "FAIL" in table.split("Challenge_22_main")[1].splitlines()[0]
    assert "ok*" in table.split("Challenge_20_main")[1].splitlines()[0]
    summary = read_json(run.batches_dir / "epoch_0.checks.json")
    assert summary["failures"]["Challenge_22_main"] == ["executes: raised ZeroDivisionError: division by zero"]
    assert summary["passed_per_check"]["executes"] == 66
    cmd_assemble(cfg, run, echo=lambda s: None)
    blocked = make_config(f"run_dir={run.path}", "evaluator.check_policy=block")
    from critpt_harness.commands.submission import cmd_submit
    with pytest.raises(BatchError, match="Challenge_22_main"):
        cmd_submit(blocked, run, echo=lambda s: None)
