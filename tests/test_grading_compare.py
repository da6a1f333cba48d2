"""compare.py: the value comparison the judge runs in the sandbox (pure: tested in-process)."""

import numpy as np
import pytest
import sympy as sp

from critpt_harness.grading.compare import _Comparer, compare, kind

p = sp.Symbol("p")
x_pos = sp.Symbol("x", positive=True)
y_real = sp.Symbol("y", real=True)
n_int = sp.Symbol("n", integer=True, positive=True)


@pytest.mark.parametrize("got,want", [
    (0.5 * (1 + 1e-9), 0.5),                      # within the default rtol 1e-6
    (3, 3), (3.0, 3), (np.int64(3), 3), (sp.Integer(3), 3),
    (0.7853981633974483, sp.pi / 4),              # a float against an exact constant
    (sp.sqrt(2) / 2, 1 / 2 ** 0.5),
    (1 + 2j, complex(1, 2 + 1e-12)),
    (float("inf"), sp.oo),
])
def test_numbers_within_tolerance(got, want):
    ok, reason = compare(got, want)
    assert ok, reason


@pytest.mark.parametrize("got,want,needle", [
    (0.5 * (1 + 1e-3), 0.5, "relative difference 9.99e-04 > rtol 1e-06"),
    (4, 3, "expected 3, got 4"),
    (0.7854, sp.pi / 4, "rtol"),
    (float("nan"), 1.0, "not a finite number"),
    (True, 1, "expected a number"),
    ("1.0", 1.0, "expected a number"),
    (..., 1.0, "placeholder"),
    (None, 1.0, "expected a number"),
])
def test_numbers_that_differ(got, want, needle):
    ok, reason = compare(got, want)
    assert not ok and needle in reason


def test_tolerances_are_parameters():
    assert compare(0.5 * (1 + 1e-3), 0.5, rtol=1e-2)[0]
    assert compare(1e-9, 0.0, atol=1e-6)[0]
    assert not compare(1e-9, 0.0)[0]  # no absolute tolerance by default


def test_sympy_rewritten_expressions_are_equal_symbolically():
    want = 1 - sp.Rational(16, 75) * p ** 2 / (1 - sp.Rational(8, 5) * p + sp.Rational(64, 75) * p ** 2)
    got = (1 - sp.Rational(8, 5) * p + sp.Rational(16, 25) * p ** 2) / (1 - sp.Rational(8, 5) * p + sp.Rational(64, 75) * p ** 2)
    ok, reason = compare(got, want)
    assert ok and "symbolically equal" in reason
    ok, reason = compare(want + sp.Rational(1, 1000), want)
    assert not ok and "differ at p=" in reason


def test_float_coefficients_pass_within_tolerance_only():
    assert compare(0.8 * p + 0.36, sp.Rational(4, 5) * p + sp.Rational(9, 25))[0]
    assert not compare(0.8001 * p, sp.Rational(4, 5) * p)[0]


def test_numeric_fallback_at_random_points():
    want = sp.sin(p) ** 2
    ok, reason = compare(1 - sp.cos(p) ** 2, want, symbolic=False)
    assert ok and "numerically equal at 6 random points" in reason
    ok, reason = compare(p + sp.Symbol("q"), p, symbolic=False)
    assert not ok and "free symbols q are not in the expected answer" in reason


def test_symbol_assumptions_decide_the_sample_points():
    # sqrt(x**2) == x only for x >= 0: equal for a positive symbol, not for a real one
    assert compare(sp.sqrt(x_pos ** 2), x_pos, symbolic=False)[0]
    ok, reason = compare(sp.Abs(y_real), y_real, symbolic=False, seed=1)
    assert not ok and "y=-" in reason


@pytest.mark.parametrize("symbol,check", [
    (x_pos, lambda v: v.is_Rational and v > 0),
    (sp.Symbol("u", negative=True), lambda v: v < 0),
    (sp.Symbol("w", nonnegative=True), lambda v: v >= 0),
    (n_int, lambda v: v.is_Integer and v > 0),
    (sp.Symbol("m", even=True), lambda v: v.is_Integer and v % 2 == 0),
    (sp.Symbol("k", odd=True, positive=True), lambda v: v.is_Integer and v % 2 == 1 and v > 0),
    (sp.Symbol("t", imaginary=True), lambda v: v.is_imaginary),
    (sp.Symbol("r", real=True), lambda v: v.is_Rational),  # both signs (checked below)
    (sp.Symbol("a"), lambda v: v > 0),  # no assumptions: physical parameters are usually positive
])
def test_sample_points_respect_assumptions(symbol, check):
    comparer = _Comparer(1e-6, 0.0, symbolic=False, seed=3)
    assert all(check(comparer._sample(symbol)) for _ in range(40))
    if symbol.is_real and symbol.is_positive is None and symbol.is_negative is None:
        assert {comparer._sample(symbol) > 0 for _ in range(40)} == {True, False}


def test_a_symbol_made_by_the_candidate_module_matches_by_name():
    mine = sp.Symbol("x")  # the candidate forgot positive=True
    assert compare(sp.sqrt(mine ** 2), x_pos)[0]


@pytest.mark.parametrize("got,want,ok", [
    ([1.0, 2.0], [1, 2], True), ((1, 2), [1, 2], True), (np.array([1.0, 2.0]), (1.0, 2.0), True),
    ((1, 2), (1, 2, 3), False), ([1, 3], [1, 2], False), (1.0, (1.0,), False),
    (sp.Matrix([[1, 0], [0, 1]]), sp.eye(2), True), ([[1, 0], [0, 2]], sp.eye(2), False),
    ({"a": 1, "b": p}, {"b": p, "a": 1.0}, True), ({"a": 1}, {"b": 1}, False),
])
def test_sequences_and_dicts_element_wise(got, want, ok):
    assert compare(got, want)[0] is ok


def test_sequence_reason_names_the_position():
    ok, reason = compare((1.0, [2.0, 3.5]), (1.0, [2.0, 3.0]))
    assert not ok and reason.startswith("at [1][1]:")


@pytest.mark.parametrize("got,want,ok", [
    ({3, 1, 2}, {1, 2, 3}, True), ({1.0000000001, 2}, {2, 1}, True), (sp.FiniteSet(1, 2), {2, 1}, True),
    ({1, 2}, {1, 2, 3}, False), ({1, 4}, {1, 2}, False), ([1, 2], {1, 2}, False),
    ({sp.Rational(1, 2), p}, {p, 0.5}, True),
])
def test_sets_match_in_any_order(got, want, ok):
    assert compare(got, want)[0] is ok


@pytest.mark.parametrize("got,want,ok", [
    (sp.Interval(0, 1), sp.Interval(0, 1), True),
    (sp.Interval.open(0, sp.oo), sp.Interval(0, sp.oo, left_open=True, right_open=True), True),
    (sp.Interval(0, 0.5 * (1 + 1e-9)), sp.Interval(0, sp.Rational(1, 2)), True),
    (sp.Interval.Lopen(0, 1), sp.Interval(0, 1), False),
    (sp.Interval(0, 2), sp.Interval(0, 1), False),
    ((0, 1), sp.Interval(0, 1), False),
])
def test_intervals_compare_ends_and_flags(got, want, ok):
    assert compare(got, want)[0] is ok


@pytest.mark.parametrize("got,want,ok", [
    (True, True, True), (np.bool_(False), False, True), (sp.true, True, True), (False, sp.true, False),
    (1, True, False), ("True", True, False),
])
def test_booleans_must_be_booleans(got, want, ok):
    assert compare(got, want)[0] is ok


@pytest.mark.parametrize("got,want,ok", [
    ("b", "B", True), ("  (A)\n", "(a)", True), ("Ferromagnetic  phase", "ferromagnetic phase", True),
    ("A", "B", False), ("A B", "AB", False), (1, "1", False),
])
def test_strings_normalise_case_and_whitespace(got, want, ok):
    assert compare(got, want)[0] is ok


def test_kinds():
    assert [kind(v) for v in (True, 1, 1.5, p, p + 1 - p, "a", {1}, (1,), sp.Interval(0, 1), ..., None)] == [
        "bool", "number", "number", "expr", "number", "str", "set", "seq", "interval", "placeholder", "none"]
