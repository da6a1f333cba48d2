"""Is a returned answer equal to the golden one? Pure functions, run INSIDE the
sandbox (judge.py) on the values both ``answer`` functions returned.

Rules, by the golden value's type:
- numbers (int, float, complex, numpy and sympy numbers, sympy constants such as
  ``pi/4``): two integers must be equal; otherwise ``|a - b| <= max(atol, rtol * max(|a|, |b|))``;
- sympy expressions with free symbols: equal if structurally equal, or
  ``simplify(a - b) == 0``, or ``a.equals(b)``, or -- the fallback -- equal within
  the tolerance at random points (30-digit evaluation at rational points) drawn
  as the symbols' assumptions allow (see ``_sample``);
- lists, tuples, numpy arrays, sympy matrices: same length (shape), element-wise;
- sets and sympy ``FiniteSet``: same size, elements matched in any order;
- ``sympy.Interval``: both ends as above and the same open/closed flags;
- booleans (python, numpy, sympy): must be booleans and equal;
- strings (multiple choice): equal after case folding and collapsing whitespace;
- dicts: same keys, values compared.

``compare`` returns ``(ok, reason)``; the reason says where and why two values
differ (it may show the golden value: the server hides reasons unless asked).

sympy and numpy are only looked up in ``sys.modules``: a value can only be a
sympy object if sympy was imported, so plain answers never pay its import.
"""

from __future__ import annotations

import cmath
import math
import random
from typing import Any, Dict, List, Optional, Tuple

from ..config.grading import DEFAULT_ATOL, DEFAULT_RTOL
from ..tools.answer_call import short_repr
from .values import elements, fmt_complex, is_integer, kind, norm_text, shape_of, sympy_loaded, to_complex

__all__ = ["DEFAULT_ATOL", "DEFAULT_RTOL", "compare", "kind"]

# Random points for the numeric fallback: enough agreeing points to accept.
_POINTS_WANTED = 6
_POINTS_NEEDED = 3
_POINT_TRIES = 40


class _Comparer:
    def __init__(self, rtol: float, atol: float, symbolic: bool, seed: int):
        self.rtol = rtol
        self.atol = atol
        self.symbolic = symbolic
        self.rng = random.Random(seed)
        self.notes: List[str] = []

    # entry: None when equal, else why not
    def diff(self, got: Any, want: Any, at: str) -> Optional[str]:
        kg, kw = kind(got), kind(want)
        where = f"at {at}: " if at else ""
        if kg == "placeholder":
            return f"{where}returned the template placeholder `...`"
        if kw in ("number", "expr") and kg in ("number", "expr"):
            if kw == kg == "number":
                return self._number(got, want, where)
            return self._expr(got, want, where)
        if kw == "bool":
            if kg != "bool":
                return f"{where}expected a boolean, got {type(got).__name__} {short_repr(got)}"
            return None if bool(got) == bool(want) else f"{where}expected {bool(want)}, got {bool(got)}"
        if kw == "str":
            if kg != "str":
                return f"{where}expected a string, got {type(got).__name__} {short_repr(got)}"
            if norm_text(got) == norm_text(want):
                return None
            return f"{where}expected {short_repr(want)}, got {short_repr(got)}"
        if kw == "interval":
            return self._interval(got, want, where, at) if kg == "interval" else \
                f"{where}expected a sympy Interval, got {type(got).__name__} {short_repr(got)}"
        if kw == "set":
            return self._set(got, want, where, at) if kg == "set" else \
                f"{where}expected a set, got {type(got).__name__} {short_repr(got)}"
        if kw == "seq":
            return self._seq(got, want, where, at) if kg == "seq" else \
                f"{where}expected a sequence of {len(elements(want))}, got {type(got).__name__} {short_repr(got)}"
        if kw == "dict":
            return self._dict(got, want, where, at) if kg == "dict" else \
                f"{where}expected a dict, got {type(got).__name__} {short_repr(got)}"
        if kw == "sympy_set":
            return self._sympy_set(got, want, where)
        if kw in ("number", "expr"):
            return f"{where}expected a number or expression, got {type(got).__name__} {short_repr(got)}"
        try:
            if got == want:
                return None
        except Exception:  # == on odd objects may raise
            pass
        return f"{where}expected {short_repr(want)}, got {short_repr(got)}"

    # numbers
    def _close(self, a: complex, b: complex) -> bool:
        if cmath.isinf(a) or cmath.isinf(b):
            return a == b
        return abs(a - b) <= max(self.atol, self.rtol * max(abs(a), abs(b)))

    def _number(self, got: Any, want: Any, where: str) -> Optional[str]:
        if is_integer(got) and is_integer(want):
            return None if int(got) == int(want) else f"{where}expected {int(want)}, got {int(got)}"
        a, b = to_complex(got), to_complex(want)
        if a is None:
            return f"{where}not a finite number: {short_repr(got)}"
        if b is None:
            return f"{where}the golden value is not a finite number ({short_repr(want)})"
        if self._close(a, b):
            return None
        scale = max(abs(a), abs(b))
        rel = abs(a - b) / scale if scale else math.inf
        return (f"{where}expected {short_repr(want)}, got {short_repr(got)} (relative difference {rel:.2e} > "
                f"rtol {self.rtol:g}{f', atol {self.atol:g}' if self.atol else ''})")

    # sympy expressions
    def _expr(self, got: Any, want: Any, where: str) -> Optional[str]:
        sp = sympy_loaded()
        if sp is None:  # an expr kind implies sympy is loaded; keep the type checker calm
            return f"{where}cannot compare {short_repr(got)} with {short_repr(want)}"
        try:
            g, w = sp.sympify(got), sp.sympify(want)
        except (sp.SympifyError, TypeError) as exc:
            return f"{where}not a sympy expression ({exc})"
        # A symbol made by the answer's own module (same name, other assumptions) stands
        # for the argument of that name.
        by_name = {s.name: s for s in w.free_symbols}
        rename = {s: by_name[s.name] for s in g.free_symbols if s.name in by_name and s is not by_name[s.name]}
        if rename:
            g = g.xreplace(rename)
        if g == w:
            return None
        if self.symbolic:
            try:
                if sp.simplify(g - w) == 0:
                    self.notes.append("symbolically equal")
                    return None
                if g.equals(w) is True:
                    self.notes.append("symbolically equal (equals)")
                    return None
            except Exception:  # simplify fails on some objects; the numeric check decides
                pass
        return self._numeric(g, w, where)

    def _sample(self, symbol: Any) -> Any:
        """A rational value that the symbol's assumptions allow: positive/nonnegative
        -> (0.15, 1.95); negative/nonpositive -> the negatives; integer -> 1..6 (even/odd
        respected, sign likewise); real without a sign -> either sign; imaginary -> i times
        a real. A symbol with no assumptions gets positive values, as physical
        parameters (rates, masses, couplings) usually are."""
        sp = sympy_loaded()
        sign = 1
        if symbol.is_negative or symbol.is_nonpositive:
            sign = -1
        elif not (symbol.is_positive or symbol.is_nonnegative) and (symbol.is_real or symbol.is_imaginary):
            sign = self.rng.choice((1, -1))
        if symbol.is_integer:
            n = self.rng.randint(1, 6)
            if symbol.is_even:
                n *= 2
            elif symbol.is_odd:
                n = 2 * n - 1
            return sp.Integer(sign * n)
        value = sp.Rational(sign * self.rng.randint(150, 1950), 1000)
        return value * sp.I if symbol.is_imaginary else value

    def _numeric(self, got: Any, want: Any, where: str) -> Optional[str]:
        symbols = sorted(got.free_symbols | want.free_symbols, key=lambda s: s.name)
        extra = sorted(s.name for s in got.free_symbols - want.free_symbols)
        agreed = 0
        for _ in range(_POINT_TRIES):
            point = {s: self._sample(s) for s in symbols}
            try:
                a = to_complex(got.xreplace(point))
                b = to_complex(want.xreplace(point))
            except Exception:  # evaluation can fail at a point (a branch, a pole): try another
                continue
            if a is None or b is None or cmath.isinf(a) or cmath.isinf(b):
                continue
            if not self._close(a, b):
                shown = ", ".join(f"{s}={v}" for s, v in point.items())
                hint = f" (its free symbols {', '.join(extra)} are not in the expected answer)" if extra else ""
                return (f"{where}expected {short_repr(want)}, got {short_repr(got)}{hint}: they differ at {shown} "
                        f"({fmt_complex(b)} vs {fmt_complex(a)})")
            agreed += 1
            if agreed >= _POINTS_WANTED:
                break
        if agreed < _POINTS_NEEDED:
            return (f"{where}could not show {short_repr(got)} equal to {short_repr(want)}: not symbolically equal, "
                    f"and only {agreed} random points could be evaluated")
        self.notes.append(f"numerically equal at {agreed} random points")
        return None

    # containers
    def _seq(self, got: Any, want: Any, where: str, at: str) -> Optional[str]:
        sg, sw = shape_of(got), shape_of(want)
        if sg is not None and sw is not None and sg != sw:
            return f"{where}expected shape {sw}, got {sg}"
        a, b = elements(got), elements(want)
        if len(a) != len(b):
            return f"{where}expected {len(b)} values, got {len(a)}"
        for i, (x, y) in enumerate(zip(a, b)):
            reason = self.diff(x, y, f"{at}[{i}]")
            if reason:
                return reason
        return None

    def _dict(self, got: Dict[Any, Any], want: Dict[Any, Any], where: str, at: str) -> Optional[str]:
        if set(got) != set(want):
            return f"{where}expected keys {sorted(map(str, want))}, got {sorted(map(str, got))}"
        for key in want:
            reason = self.diff(got[key], want[key], f"{at}[{key!r}]")
            if reason:
                return reason
        return None

    def _set(self, got: Any, want: Any, where: str, at: str) -> Optional[str]:
        a, b = list(got), list(want)
        if len(a) != len(b):
            return f"{where}expected a set of {len(b)}, got {len(a)}: {short_repr(got)}"
        saved = list(self.notes)
        ok = [[self.diff(x, y, "") is None for y in b] for x in a]
        self.notes = saved  # notes of trial pairings are not the answer's
        match: Dict[int, int] = {}  # golden index -> candidate index

        def assign(i: int, seen: set) -> bool:  # augmenting path (Kuhn's matching)
            for j in range(len(b)):
                if ok[i][j] and j not in seen:
                    seen.add(j)
                    if j not in match or assign(match[j], seen):
                        match[j] = i
                        return True
            return False

        for i in range(len(a)):
            if not assign(i, set()):
                return f"{where}no expected element matches {short_repr(a[i])} (expected {short_repr(want)})"
        return None

    def _interval(self, got: Any, want: Any, where: str, at: str) -> Optional[str]:
        for flag in ("left_open", "right_open"):
            if bool(getattr(got, flag)) != bool(getattr(want, flag)):
                side = "left" if flag == "left_open" else "right"
                state = "open" if getattr(want, flag) else "closed"
                return f"{where}expected the interval {short_repr(want)} ({side} end {state}), got {short_repr(got)}"
        return self.diff(got.start, want.start, f"{at}.start") or self.diff(got.end, want.end, f"{at}.end")

    def _sympy_set(self, got: Any, want: Any, where: str) -> Optional[str]:
        sp = sympy_loaded()
        if sp is None or not isinstance(got, sp.Set):
            return f"{where}expected a sympy set {short_repr(want)}, got {type(got).__name__} {short_repr(got)}"
        try:
            if got == want or got.symmetric_difference(want) == sp.S.EmptySet:
                return None
        except Exception:  # some set operations are not implemented
            pass
        return f"{where}expected {short_repr(want)}, got {short_repr(got)}"


def compare(got: Any, want: Any, rtol: float = DEFAULT_RTOL, atol: float = DEFAULT_ATOL, *,
            symbolic: bool = True, seed: int = 0) -> Tuple[bool, str]:
    """(ok, reason): is ``got`` (the candidate's value) equal to ``want`` (the golden one)?
    ``symbolic=False`` skips simplify/equals (the judge's fallback when they take too long)."""
    comparer = _Comparer(rtol, atol, symbolic, seed)
    reason = comparer.diff(got, want, "")
    if reason is not None:
        return False, reason
    notes = sorted(set(comparer.notes), key=comparer.notes.index)
    return True, "equal" + (f" ({'; '.join(notes)})" if notes else "")
