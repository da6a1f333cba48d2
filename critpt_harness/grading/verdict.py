"""The verdict for one problem, reached inside the sandbox in the problem's own child
process (judge.py runs the children): the golden function's values, the candidate's
``answer`` called with the same arguments, and the two compared (compare.py)."""

from __future__ import annotations

import copy
from typing import Any, Callable, Dict, List, Optional

from ..tools.answer_call import (TimeLimit, answer_function, limited, load_module, module_level_args, parameter_names,
                           short_repr)
from ..config.grading import DEFAULT_ATOL, DEFAULT_RTOL
from .compare import compare


class _Signature(Exception):
    """The candidate's answer() does not take the template's arguments."""


def describe_error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc)[:300]}"


def call_arguments(golden_module: Any, fn: Any, testcases: Any) -> tuple[Optional[List[Dict[str, Any]]], str]:
    """The keyword arguments of each call, or (None, why not).

    Without testcases: no arguments, or the golden module's own names (the
    templates' sympy symbols). With testcases (a list, one entry per call): a
    dict of arguments by name (or ``{"args": [...], "kwargs": {...}}``), a list of
    positional arguments, or a single value when ``answer`` takes one argument."""
    names = parameter_names(fn)
    if testcases is None:
        if not names:
            return [{}], ""
        args, missing = module_level_args(golden_module, names)
        if args is None:
            return None, (f"answer() takes {', '.join(names)}; the golden code does not define "
                          f"{', '.join(missing)} and the problem has no testcases")
        return [args], ""
    cases = testcases if isinstance(testcases, list) else [testcases]
    if not cases:
        return None, "testcases is an empty list"
    calls = []
    for n, case in enumerate(cases):
        if isinstance(case, dict) and set(case) <= {"args", "kwargs"} and case:
            positional, named = list(case.get("args") or []), dict(case.get("kwargs") or {})
        elif isinstance(case, dict):
            positional, named = [], dict(case)
        elif isinstance(case, (list, tuple)):
            positional, named = list(case), {}
        elif len(names) == 1:
            positional, named = [case], {}
        else:
            return None, f"testcase {n} ({short_repr(case, 80)}) has a form the grader does not understand"
        if len(positional) > len(names) or set(named) - set(names):
            return None, f"testcase {n} does not fit answer({', '.join(names)})"
        call = dict(zip(names, positional), **named)
        if set(call) != set(names):
            return None, f"testcase {n} lacks {', '.join(sorted(set(names) - set(call)))}"
        calls.append(call)
    return calls, ""


def judge_item(item: Dict[str, Any], timeout: float, phase: Callable[[str], None] = lambda p: None) -> Dict[str, Any]:
    """The verdict for one item (runs in the sandbox, in the item's own child)."""
    out: Dict[str, Any] = {"id": item["id"]}

    def verdict(status: str, reason: str, **extra: Any) -> Dict[str, Any]:
        return {**out, "status": status, "reason": reason, **extra}

    # 1. the golden values first: nothing the candidate does can change them
    phase("golden")

    def run_golden() -> tuple[Any, Optional[List[Dict[str, Any]]], Any]:
        module = load_module(item["golden"], "golden")
        fn = getattr(module, item["golden_name"], None)
        if not callable(fn):
            raise LookupError(f"the golden code defines no `{item['golden_name']}`")
        calls, why = call_arguments(module, fn, item.get("testcases"))
        if calls is None:
            return fn, None, why
        return fn, calls, [fn(**copy.deepcopy(c)) for c in calls]

    try:
        golden_fn, calls, expected = limited(timeout, run_golden)
        if calls is None:
            return verdict("not_gradable", expected)
    except TimeLimit:
        return verdict("judge_error", f"the golden answer did not return within {timeout:g}s")
    except BaseException as exc:  # the golden code is data too
        return verdict("judge_error", f"the golden answer raised {describe_error(exc)}")

    # 2. the candidate, with the same arguments
    phase("candidate")
    try:
        def run_candidate() -> List[Any]:
            module = load_module(item["candidate"], "candidate")
            fn = answer_function(module)
            mine, theirs = parameter_names(fn), parameter_names(golden_fn)
            if mine != theirs:
                raise _Signature(f"answer({', '.join(mine)}) does not take the template's arguments "
                                 f"({', '.join(theirs)})")
            return [fn(**copy.deepcopy(c)) for c in calls]

        got = limited(timeout, run_candidate)
    except TimeLimit:
        return verdict("timeout", f"answer() did not return within {timeout:g}s")
    except _Signature as exc:
        return verdict("incorrect", str(exc))
    except SyntaxError as exc:
        return verdict("incorrect", f"the code does not parse: {exc.msg} (line {exc.lineno})")
    except BaseException as exc:  # model code may raise anything, even SystemExit
        return verdict("incorrect", f"the code raised {describe_error(exc)}")

    # 3. compare each call's values; a slow simplify falls back to the numeric check
    phase("compare")
    returned = short_repr(got[0] if len(got) == 1 else got)
    for n, (g, w) in enumerate(zip(got, expected)):
        label = f"testcase {n}: " if item.get("testcases") is not None else ""
        args = dict(rtol=item.get("rtol", DEFAULT_RTOL), atol=item.get("atol", DEFAULT_ATOL),
                    seed=item.get("seed", 0))
        try:
            ok, reason = limited(timeout, lambda: compare(g, w, symbolic=True, **args))
        except TimeLimit:
            try:
                ok, reason = limited(timeout, lambda: compare(g, w, symbolic=False, **args))
            except TimeLimit:
                return verdict("judge_error", f"{label}comparing took more than {timeout:g}s", returned=returned)
        except BaseException as exc:
            return verdict("judge_error", f"{label}the comparison raised {describe_error(exc)}", returned=returned)
        if not ok:
            return verdict("incorrect", label + reason, returned=returned)
    return verdict("correct", reason if len(got) == 1 else f"all {len(got)} testcases equal", returned=returned)
