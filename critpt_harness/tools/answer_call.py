"""Loading an answer module and calling ``answer(...)`` -- code that runs INSIDE
the sandbox process (see sandbox.run_python), never in the harness's own.

The templates' ``answer`` takes no arguments (39 of 70), or only sympy symbols
defined at module level under the same names (28), or concrete inputs (3:
Challenge_20, _45, _62), which only a problem's ``testcases`` can supply.
"""

from __future__ import annotations

import inspect
import signal
import types
from typing import Any, Callable, Dict, List, Optional, Tuple


class TimeLimit(BaseException):
    """Raised by the alarm; a BaseException so `except Exception` in model code lets it pass."""


def _on_alarm(signum: int, frame: Any) -> None:
    raise TimeLimit()


def limited(seconds: float, fn: Callable[[], Any]) -> Any:
    """Call ``fn`` with an alarm: TimeLimit after ``seconds`` of wall time."""
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return fn()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def short_repr(value: Any, limit: int = 300) -> str:
    """repr for messages: cut to ``limit``; a value whose repr raises is still named."""
    try:
        text = repr(value)
    except Exception:
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[:limit] + "..."


def load_module(source: str, name: str = "answer_module") -> types.ModuleType:
    """Execute ``source`` as a fresh module (in the sandbox process)."""
    module = types.ModuleType(name)
    module.__dict__["__builtins__"] = __builtins__
    exec(compile(source, f"<{name}>", "exec"), module.__dict__)  # noqa: S102 - sandbox-side only
    return module


def answer_function(module: types.ModuleType):
    fn = getattr(module, "answer", None)
    if not callable(fn):
        raise LookupError("the code defines no callable `answer`")
    return fn


def parameter_names(fn) -> List[str]:
    return [p.name for p in inspect.signature(fn).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def module_level_args(module: types.ModuleType, names: List[str]) -> Tuple[Optional[Dict[str, Any]], List[str]]:
    """Arguments taken from module-level names (the templates' sympy symbols).
    Returns (args, missing): args is None when some name is not defined."""
    missing = [n for n in names if n not in module.__dict__]
    if missing:
        return None, missing
    return {n: module.__dict__[n] for n in names}, []


def call_answer(module: types.ModuleType, args: Optional[Dict[str, Any]] = None) -> Any:
    """Call ``answer`` with ``args``, or with the module's own symbols when None."""
    fn = answer_function(module)
    if args is None:
        args, missing = module_level_args(module, parameter_names(fn))
        if args is None:
            raise LookupError(f"answer() needs inputs the module does not define: {', '.join(missing)}")
    return fn(**args)
