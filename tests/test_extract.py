"""Code extraction and the static pre-submission checks."""

import json


from critpt_harness.checks.extract import extract_code, static_checks
from critpt_harness.generation.models.mock import fill_template

TEMPLATE = '''import sympy as sp

phi = sp.symbols('phi', positive=True)

def answer(phi, k):
    r"""Return the value... of something."""
    # ---- FILL IN ----
    value = ...
    roots = [...]
    return value, roots
'''


def failed(checks):
    return {c.name: c.message for c in checks if not c.passed}


def fenced(code, lang="python"):
    return f"Some words.\n\n```{lang}\n{code}\n```\nMore words."


def test_a_correctly_filled_template_passes_every_check():
    code, checks = static_checks(fenced(fill_template(TEMPLATE, "sp.pi*phi")), TEMPLATE)
    assert failed(checks) == {}
    assert "value = sp.pi*phi" in code and "roots = [sp.pi*phi]" in code


def test_extraction_prefers_the_last_python_block_and_flags_several():
    reply = fenced("x = 1") + "\n" + fenced(fill_template(TEMPLATE))
    ex = extract_code(reply)
    assert ex.python_blocks == 2 and "def answer" in ex.code
    _, checks = static_checks(reply, TEMPLATE)
    assert "extracted" in failed(checks)


def test_a_reply_that_is_bare_code_is_accepted():
    ex = extract_code(fill_template(TEMPLATE))
    assert ex.code is not None and not ex.from_fence


def test_no_code_at_all_is_reported():
    code, checks = static_checks("Final Answer: 42", TEMPLATE)
    assert code is None and "extracted" in failed(checks)


def test_placeholders_left_are_found_but_not_in_the_docstring():
    code = TEMPLATE.replace("roots = [...]", "roots = [1]")
    problems = failed(static_checks(fenced(code), TEMPLATE)[1])
    assert list(problems) == ["no_placeholders"] and "line" in problems["no_placeholders"]


def test_wrong_signature_syntax_error_and_extra_imports():
    filled = fill_template(TEMPLATE)
    assert "signature" in failed(static_checks(fenced(filled.replace("answer(phi, k)", "answer(k, phi)")), TEMPLATE)[1])
    assert "parses" in failed(static_checks(fenced(filled.replace("return", "return (")), TEMPLATE)[1])
    assert "imports" in failed(static_checks(fenced("import os\n" + filled), TEMPLATE)[1])
    # a submodule of an allowed module is fine
    assert failed(static_checks(fenced("from sympy import pi\n" + filled), TEMPLATE)[1]) == {}


def test_module_level_symbol_definitions_must_be_kept():
    changed = fill_template(TEMPLATE).replace("positive=True", "real=True")
    assert "module_level_kept" in failed(static_checks(fenced(changed), TEMPLATE)[1])


def assert_mock_fills_all_70_templates_so_they_pass(folder):
    paths = sorted(folder.glob("Challenge_*.json"))
    assert len(paths) == 70
    for path in paths:
        template = json.loads(path.read_text())["problems"][0]["code_template"]
        assert failed(static_checks(fenced(fill_template(template)), template)[1]) == {}, path.name
        assert failed(static_checks(fenced(template), template)[1]).keys() == {"no_placeholders"}, path.name


def test_mock_fills_all_70_public_templates_so_they_pass(public_dir):
    assert_mock_fills_all_70_templates_so_they_pass(public_dir)


def test_mock_fills_all_70_real_templates_so_they_pass(real_public_dir):
    assert_mock_fills_all_70_templates_so_they_pass(real_public_dir)
