"""The kinds of values an ``answer`` returns, and their numbers, for compare.py (which
runs in the sandbox). sympy and numpy are only looked up in ``sys.modules``: a value
can only be a sympy object if sympy was imported, so plain answers never pay its import.
"""

from __future__ import annotations

import cmath
import numbers
import sys
from typing import Any, List, Optional

_DIGITS = 30  # digits of a sympy number's evaluation


def sympy_loaded():
    return sys.modules.get("sympy")


def numpy_loaded():
    return sys.modules.get("numpy")


def kind(value: Any) -> str:
    """A coarse type: placeholder, none, bool, str, interval, set, sympy_set, seq,
    dict, number, expr, other."""
    if value is Ellipsis:
        return "placeholder"
    if value is None:
        return "none"
    sp, np = sympy_loaded(), numpy_loaded()
    if isinstance(value, bool) or (np is not None and isinstance(value, np.bool_)):
        return "bool"
    if sp is not None and isinstance(value, sp.logic.boolalg.BooleanAtom):
        return "bool"
    if isinstance(value, str):
        return "str"
    if sp is not None and isinstance(value, sp.Interval):
        return "interval"
    if isinstance(value, (set, frozenset)) or (sp is not None and isinstance(value, sp.FiniteSet)):
        return "set"
    if sp is not None and isinstance(value, sp.Set):
        return "sympy_set"
    if isinstance(value, (list, tuple)) or (np is not None and isinstance(value, np.ndarray)):
        return "seq"
    if sp is not None and isinstance(value, sp.MatrixBase):
        return "seq"
    if isinstance(value, dict):
        return "dict"
    if sp is not None and isinstance(value, sp.Expr):
        return "number" if not value.free_symbols else "expr"
    if isinstance(value, numbers.Number):
        return "number"
    return "other"


def is_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    sp = sympy_loaded()
    if sp is not None and isinstance(value, sp.Integer):
        return True
    return isinstance(value, numbers.Integral)


def to_complex(value: Any) -> Optional[complex]:
    """A number as a complex, or None when it is not finite or not a number."""
    sp = sympy_loaded()
    try:
        if sp is not None and isinstance(value, sp.Basic):
            if value.has(sp.zoo, sp.nan):
                return None
            if value in (sp.oo, -sp.oo):
                return complex(float(value), 0.0)
            value = value.evalf(_DIGITS)
            if value.free_symbols:
                return None
        z = complex(value)
    except (TypeError, ValueError, OverflowError, AttributeError):
        return None
    if cmath.isnan(z):
        return None
    return z


def elements(value: Any) -> List[Any]:
    np = numpy_loaded()
    if np is not None and isinstance(value, np.ndarray):
        return list(value.tolist()) if value.ndim else [value.item()]
    sp = sympy_loaded()
    if sp is not None and isinstance(value, sp.MatrixBase):
        return value.tolist() if min(value.shape) > 1 else list(value)
    return list(value)


def shape_of(value: Any) -> Optional[tuple]:
    shape = getattr(value, "shape", None)
    return tuple(shape) if shape is not None else None


def norm_text(text: str) -> str:
    return " ".join(text.split()).casefold()


def fmt_complex(z: complex) -> str:
    return f"{z.real:.12g}" if z.imag == 0 else f"{z:.12g}"
