"""Sandbox side of the execution checks: ``python -m critpt_harness.tools.exec_runner``
reads a JSON list of items on stdin and prints one JSON line per item.

Runs only inside sandbox.run_python (``with_package``: under bwrap or docker only
this package's directory is visible, read-only, at /opt/critpt/critpt_harness --
not the checkout around it). Each answer gets its own alarm, so one endless loop
costs its time limit, not the whole batch.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import sys
from typing import Any, Dict, List

from .answer_call import TimeLimit, answer_function, call_answer, limited, load_module, module_level_args, parameter_names, short_repr


# Our lines carry this prefix: whatever the model's code prints is captured, and
# anything that still reaches stdout (os.write) is ignored by the reader.
MARK = "@@critpt-check@@ "


def _leaves(value: Any) -> List[Any]:
    if isinstance(value, (list, tuple, set, frozenset)):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


def inspect_result(value: Any, item: Dict[str, Any], arg_names: List[str]) -> List[str]:
    """Problems with a returned value: count, placeholders, non-finite numbers,
    stray sympy symbols, strings outside the documented choices."""
    problems: List[str] = []
    expected = item.get("n_values", 1)
    values = list(value) if expected > 1 and isinstance(value, (tuple, list)) else [value]
    if expected > 1 and len(values) != expected:
        count = len(value) if isinstance(value, (tuple, list)) else 1
        problems.append(f"returns {count} value(s); the template returns {expected}")
    for leaf in _leaves(value):
        if leaf is Ellipsis:
            problems.append("returns a placeholder (...)")
        elif isinstance(leaf, float) and not math.isfinite(leaf):
            problems.append(f"returns a non-finite number ({leaf})")
        elif hasattr(leaf, "free_symbols") and hasattr(leaf, "is_finite"):
            if getattr(leaf, "is_number", False) and leaf.is_finite is False:
                problems.append(f"returns a non-finite number ({leaf})")
            stray = sorted(str(s) for s in leaf.free_symbols if str(s) not in arg_names)
            if stray:
                problems.append(f"free symbols {', '.join(stray)} are not among the arguments "
                                f"({', '.join(arg_names) or 'none'})")
    choices = item.get("choices") or {}
    names = item.get("return_names") or []
    for name, val in zip(names, values):
        allowed = choices.get(name)
        if allowed and isinstance(val, str) and val.strip() not in allowed:
            problems.append(f"{name}={val!r} is not one of {sorted(allowed)}")
    return sorted(set(problems), key=problems.index)


def check_item(item: Dict[str, Any]) -> Dict[str, Any]:
    out: Dict[str, Any] = {"id": item["id"]}
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            return limited(item.get("timeout", 10.0), lambda: _check(item, out))
    except TimeLimit:
        return {**out, "status": "fail", "problems": [f"did not return within {item.get('timeout', 10.0)}s"]}
    except BaseException as exc:  # the model's code may raise anything, even SystemExit
        return {**out, "status": "fail", "problems": [f"raised {type(exc).__name__}: {str(exc)[:300]}"]}


def _check(item: Dict[str, Any], out: Dict[str, Any]) -> Dict[str, Any]:
    template = load_module(item["template"], "template")
    candidate = load_module(item["code"], "candidate")
    names = parameter_names(answer_function(candidate))
    args, missing = module_level_args(template, names)
    if args is None:
        return {**out, "status": "error", "problems": [f"answer() needs {', '.join(missing)}, which the "
                                                       "template does not define"]}
    value = call_answer(candidate, args)
    problems = inspect_result(value, item, names)
    return {**out, "status": "fail" if problems else "pass", "problems": problems, "returned": short_repr(value)}


def main() -> None:  # pragma: no cover - runs in the sandbox
    items = json.load(sys.stdin)
    out = sys.stdout
    for item in items:
        out.write(MARK + json.dumps({"start": item["id"]}) + "\n")
        out.flush()
        out.write(MARK + json.dumps(check_item(item), default=str) + "\n")
        out.flush()


if __name__ == "__main__":  # pragma: no cover
    main()
