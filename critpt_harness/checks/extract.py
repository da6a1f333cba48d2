"""Code extraction from a reply, and the pre-submission checks that need no execution.

A check failing is a warning the user sees before spending a grading slot; the
evaluator's ``check_policy`` decides whether it blocks the batch.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import List, Optional

from ..contracts import CheckResult

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)(?:\n[ \t]*```|\Z)", re.DOTALL)


@dataclass
class Extraction:
    code: Optional[str]
    python_blocks: int
    from_fence: bool


def extract_code(reply: str) -> Extraction:
    """The code of a reply: its ```python block (the last one if there are
    several), else an unlabelled fence, else the whole reply when it parses as
    Python. ``code`` is None when nothing usable is found."""
    blocks = [(lang.lower(), body) for lang, body in _FENCE.findall(reply or "")]
    python = [body for lang, body in blocks if lang in ("python", "py", "python3")]
    if python:
        return Extraction(python[-1].strip("\n"), len(python), True)
    bare = [body for lang, body in blocks if lang == ""]
    if bare:
        return Extraction(bare[-1].strip("\n"), 0, True)
    text = (reply or "").strip()
    if text and "def answer" in text:
        try:
            ast.parse(text)
            return Extraction(text, 0, False)
        except SyntaxError:
            pass
    return Extraction(None, 0, False)


def _imported_modules(tree: ast.Module) -> set[str]:
    mods: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            mods.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            mods.add("." * node.level + (node.module or ""))
    return mods


def _module_level_lines(tree: ast.Module) -> List[str]:
    """Module-level statements other than imports, `def answer` and docstrings,
    e.g. ``phi = sp.symbols('phi', positive=True)``, normalised by ast."""
    lines = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(node, ast.FunctionDef) and node.name == "answer":
            continue
        if isinstance(node, ast.Expr) and isinstance(getattr(node, "value", None), ast.Constant):
            continue
        lines.append(ast.unparse(node))
    return lines


def _placeholders(fn: ast.FunctionDef) -> List[int]:
    """Line numbers of `...` left in the function (docstring excepted)."""
    body = fn.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    found = []
    for stmt in body:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Constant) and node.value is Ellipsis:
                found.append(node.lineno)
    return found


def _answer_fn(tree: ast.Module) -> List[ast.FunctionDef]:
    return [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == "answer"]  # type: ignore[misc]  # async def has the same fields


def _args(fn: ast.FunctionDef) -> List[str]:
    return [a.arg for a in fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs]


@dataclass(frozen=True)
class TemplateFacts:
    args: tuple
    imports: frozenset
    module_lines: tuple


@lru_cache(maxsize=256)
def template_facts(template: str) -> TemplateFacts:
    """What the checks compare against; parsed once per template, not per answer."""
    tree = ast.parse(template)
    return TemplateFacts(tuple(_args(_answer_fn(tree)[0])), frozenset(_imported_modules(tree)),
                         tuple(_module_level_lines(tree)))


def static_checks(reply: str, template: str) -> tuple[Optional[str], List[CheckResult]]:
    """Extract the code of ``reply`` and run the checks that need no execution.
    Returns (code, results); later checks are skipped once one makes them moot."""
    ex = extract_code(reply)
    results: List[CheckResult] = []

    def add(name: str, passed: bool, message: str = "") -> None:
        results.append(CheckResult(name=name, passed=passed, message=message))

    if ex.code is None:
        add("extracted", False, "no ```python block in the reply, and the reply is not code")
        return None, results
    if ex.python_blocks > 1:
        add("extracted", False, f"{ex.python_blocks} ```python blocks; the last one is used")
    else:
        add("extracted", True)

    try:
        tree = ast.parse(ex.code)
    except SyntaxError as exc:
        add("parses", False, f"syntax error line {exc.lineno}: {exc.msg}")
        return ex.code, results
    add("parses", True)

    facts = template_facts(template)
    expected = list(facts.args)
    answers = _answer_fn(tree)
    if len(answers) != 1:
        add("signature", False, f"{len(answers)} top-level `def answer` (need exactly one)")
    elif _args(answers[0]) != expected:
        add("signature", False, f"answer({', '.join(_args(answers[0]))}) but the template has "
            f"answer({', '.join(expected)})")
    else:
        add("signature", True)

    left = [line for fn in answers for line in _placeholders(fn)]
    if left:
        add("no_placeholders", False, f"`...` still at line(s) {', '.join(map(str, left))}")
    else:
        add("no_placeholders", True)

    allowed = facts.imports
    extra = sorted(
        m for m in _imported_modules(tree)
        if not any(m == a or m.startswith(a + ".") for a in allowed)
    )
    if extra:
        add("imports", False, f"imports beyond the template: {', '.join(extra)}")
    else:
        add("imports", True)

    have = set(_module_level_lines(tree))
    dropped = [line for line in facts.module_lines if line not in have]
    if dropped:
        add("module_level_kept", False, "template lines changed or dropped: " + "; ".join(dropped))
    else:
        add("module_level_kept", True)
    return ex.code, results
