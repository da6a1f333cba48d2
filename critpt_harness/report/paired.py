"""Comparing two runs: a paired test over problems where both have per-problem outcomes, else the
difference of the means over epochs. `critpt-harness compare` and the multi-run report use these numbers.

**Paired, over problems.** Both runs answered the same problems, so each problem is a pair. A
problem's score in a run is the share of that run's epochs in which it was correct (local
grading) or passed every pre-submission check; d_i = score_A - score_B. The difference is
mean(d), with a t-interval over problems (standard error sd(d)/sqrt(n): the problem is the unit
that repeats, as in Miller 2024, "Adding Error Bars to Evals"). The p-value is the exact
sign-flip (permutation) test of d: under "no difference" each d_i is as likely +|d_i| as -|d_i|,
and all 2^n signs are counted exactly (by their sums, so 70 problems take no time). With one epoch
per run the outcomes are 0/1 and this *is* McNemar's exact test (a two-sided binomial test on the
problems only one run got right). Chosen over a bootstrap because it is exact and deterministic
(the same runs always give the same p-value) and over McNemar alone because it uses every epoch
instead of collapsing them. With unequal epoch counts the sign symmetry is approximate: it says so.

**Aggregates only** (the official grader returns one accuracy per epoch): the two runs' epochs are
independent samples, so the difference of the means gets Welch's t-interval (degrees of freedom
rounded down: conservative). It cannot say on which problems the runs differ.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from ..provenance import Provenance
from .data import RunData
from .outcomes import RunOutcomes, read_outcomes
from .stats import t_critical

MEASURES = {"verdict": "correct in the local grading", "checks": "passed every pre-submission check"}
PAIRED_TEST = "exact sign-flip test over problems (McNemar's exact test when each run has one epoch)"
AGGREGATE_TEST = "Welch's t-interval over the epochs' accuracies (unpaired)"


@dataclass
class PairedResult:
    measure: str  # verdict | checks
    problems: int  # problems both runs have the measure for
    mean_a: float
    mean_b: float
    diff: float  # mean_a - mean_b (fractions)
    ci_low: Optional[float]
    ci_high: Optional[float]
    p_value: float
    a_better: int  # problems where A's score is higher
    b_better: int
    ties: int
    epochs_a: int  # most epochs a problem has in A
    epochs_b: int
    exact: bool  # every problem has the same number of epochs in both runs
    level: float = 0.95
    test: str = PAIRED_TEST

    @property
    def what(self) -> str:
        return MEASURES[self.measure]


@dataclass
class AggregateResult:
    n_a: int
    n_b: int
    mean_a: Optional[float]
    mean_b: Optional[float]
    diff: Optional[float]
    ci_low: Optional[float]
    ci_high: Optional[float]
    df: Optional[int]
    level: float = 0.95
    test: str = AGGREGATE_TEST


@dataclass
class Comparison:
    a: str
    b: str
    label_a: str
    label_b: str
    paired: List[PairedResult] = field(default_factory=list)
    aggregate: Optional[AggregateResult] = None
    statements: List[str] = field(default_factory=list)  # what can and cannot be concluded

    def as_dict(self) -> Dict[str, Any]:
        return asdict(self)


# The statistics ----------------------------------------------------------------------------------------
def sign_flip_p(diffs: List[float], scale: int) -> float:
    """Two-sided exact p-value of the sign-flip test: P(|sum of +-|d_i|| >= |sum d_i|), every sign
    pattern equally likely. ``scale`` makes every d_i * scale an integer (the lcm of the epoch counts)."""
    values = [abs(round(d * scale)) for d in diffs if round(d * scale) != 0]
    observed = abs(sum(round(d * scale) for d in diffs))
    if not values:
        return 1.0
    counts = {0: 1}  # sum -> number of sign patterns reaching it
    for v in values:
        nxt: Dict[int, int] = {}
        for s, c in counts.items():
            nxt[s + v] = nxt.get(s + v, 0) + c
            nxt[s - v] = nxt.get(s - v, 0) + c
        counts = nxt
    extreme = sum(c for s, c in counts.items() if abs(s) >= observed)
    return min(1.0, extreme / 2 ** len(values))


def paired(measure: str, a: Dict[str, List[int]], b: Dict[str, List[int]], level: float = 0.95
           ) -> Optional[PairedResult]:
    """The paired comparison over the problems both ``a`` and ``b`` score (0/1 outcomes per epoch)."""
    common = [p for p in a if a[p] and b.get(p)]
    if not common:
        return None
    score_a = [statistics.fmean(a[p]) for p in common]
    score_b = [statistics.fmean(b[p]) for p in common]
    diffs = [x - y for x, y in zip(score_a, score_b)]
    n = len(diffs)
    mean = statistics.fmean(diffs)
    low = high = None
    if n >= 2:
        half = t_critical(n - 1, level) * statistics.stdev(diffs) / math.sqrt(n)
        low, high = max(-1.0, mean - half), min(1.0, mean + half)
    scale = 1
    for p in common:
        scale = math.lcm(scale, len(a[p]), len(b[p]))
    return PairedResult(measure, n, statistics.fmean(score_a), statistics.fmean(score_b), mean, low, high,
                        sign_flip_p(diffs, scale), sum(d > 0 for d in diffs), sum(d < 0 for d in diffs),
                        sum(d == 0 for d in diffs), max(len(a[p]) for p in common), max(len(b[p]) for p in common),
                        all(len(a[p]) == len(b[p]) for p in common), level)


def welch(acc_a: List[float], acc_b: List[float], level: float = 0.95) -> AggregateResult:
    """Difference of the mean accuracies of two runs' independent epochs, with Welch's interval."""
    na, nb = len(acc_a), len(acc_b)
    ma = statistics.fmean(acc_a) if acc_a else None
    mb = statistics.fmean(acc_b) if acc_b else None
    if ma is None or mb is None:
        return AggregateResult(na, nb, ma, mb, None, None, None, None, level)
    diff = ma - mb
    if na < 2 or nb < 2:
        return AggregateResult(na, nb, ma, mb, diff, None, None, None, level)
    va, vb = statistics.variance(acc_a) / na, statistics.variance(acc_b) / nb
    if va + vb == 0:  # identical epochs within each run: no spread to build an interval from
        return AggregateResult(na, nb, ma, mb, diff, diff, diff, na + nb - 2, level)
    df_exact = (va + vb) ** 2 / (va ** 2 / (na - 1) + vb ** 2 / (nb - 1))
    df = max(1, math.floor(df_exact))
    half = t_critical(df, level) * math.sqrt(va + vb)
    return AggregateResult(na, nb, ma, mb, diff, max(-1.0, diff - half), min(1.0, diff + half), df, level)


# Two runs ---------------------------------------------------------------------------------------------
def _pts(x: Optional[float]) -> str:
    return "?" if x is None else f"{100 * x:+.2f}"


def compare_runs(a: Tuple[str, Provenance, RunOutcomes], b: Tuple[str, Provenance, RunOutcomes],
                 level: float = 0.95, same_set: Optional[str] = None) -> Comparison:
    """Run A against run B: (name, provenance, outcomes) each. ``same_set``: why the two problem
    sets differ, if they do (then every difference mixes the set with the model)."""
    (name_a, prov_a, out_a), (name_b, prov_b, out_b) = a, b
    cmp = Comparison(name_a, name_b, prov_a.label, prov_b.label)
    says = cmp.statements
    if same_set:
        says.append(f"The runs did not answer the same problem set ({same_set}): each difference below mixes "
                    "the problem set with the model.")
    for measure in MEASURES:
        result = paired(measure, out_a.scores(measure), out_b.scores(measure), level)
        if result is None:
            continue
        cmp.paired.append(result)
        verdict = (f"A is {'higher' if result.diff > 0 else 'lower'} (p = {result.p_value:.3g})"
                   if result.p_value < 1 - level else
                   f"no difference shown at the {level:.0%} level (p = {result.p_value:.3g})")
        says.append(f"{MEASURES[measure].capitalize()}: A − B = {_pts(result.diff)} points over {result.problems} "
                    f"problems (A better on {result.a_better}, B on {result.b_better}, tied on {result.ties}); "
                    f"{verdict}." + ("" if result.exact else " The runs have different numbers of epochs per "
                                     "problem, so the sign-flip test is approximate."))
        if measure == "checks":
            says.append("Passing the checks says an answer is well-formed, not that it is right.")
    if not any(r.measure == "verdict" for r in cmp.paired):
        says.append("Per-problem correctness is not known for both runs (the official grader returns one accuracy "
                    "per epoch, nothing per problem): a per-problem comparison of correctness needs both runs "
                    "graded locally (`critpt-harness grade-local` against a set with golden answers).")
    graded = prov_a.accuracies and prov_b.accuracies
    if graded and prov_a.kind != prov_b.kind:
        says.append(f"The scores come from different graders (A: {prov_a.label}; B: {prov_b.label}): their means "
                    "are not compared.")
    elif graded:
        agg = cmp.aggregate = welch(prov_a.accuracies, prov_b.accuracies, level)
        if agg.ci_low is None:
            says.append(f"Mean accuracy: A − B = {_pts(agg.diff)} points, but with {agg.n_a} and {agg.n_b} "
                        "grading(s) there is no interval: this difference alone does not show which run is better.")
        else:
            shown = agg.ci_low > 0 or agg.ci_high < 0  # type: ignore[operator]  # both set with ci_low
            says.append(f"Mean accuracy over epochs: A − B = {_pts(agg.diff)} points, {level:.0%} interval "
                        f"{_pts(agg.ci_low)} to {_pts(agg.ci_high)} ({AGGREGATE_TEST}, {agg.n_a} and {agg.n_b} "
                        "gradings); " + ("the epochs show a difference." if shown else
                                         "the interval includes 0: these epochs do not show that the runs differ."))
        if not any(r.measure == "verdict" for r in cmp.paired):
            says.append("From aggregates alone nothing can be said about which problems either run gets right.")
    elif not graded:
        says.append("At least one run has no graded epochs: no scores to compare "
                    f"(A: {prov_a.label}; B: {prov_b.label}).")
    return cmp


def compare_run_data(a: RunData, b: RunData, names: Tuple[str, str], level: float = 0.95,
                     outcomes: Optional[Tuple[RunOutcomes, RunOutcomes]] = None) -> Comparison:
    """Two runs as the report reads them (load_run); their outcomes, unless given, read from their folders."""
    differ = None
    if a.dataset_sha256 and b.dataset_sha256 and a.dataset_sha256 != b.dataset_sha256:
        differ = f"dataset hashes {a.dataset_sha256[:12]} and {b.dataset_sha256[:12]}"
    elif a.provenance.problem_set != b.provenance.problem_set:
        differ = f"A: {a.provenance.problem_set}; B: {b.provenance.problem_set}"
    oa, ob = outcomes or (read_outcomes(a.path), read_outcomes(b.path))
    return compare_runs((names[0], a.provenance, oa), (names[1], b.provenance, ob), level, differ)


def rows(cmp: Comparison) -> List[List[str]]:
    """One table row per measure: measure, n, A, B, A − B, interval, p, test."""
    def ci(low: Optional[float], high: Optional[float]) -> str:
        return "–" if low is None or high is None else f"{_pts(low)} to {_pts(high)}"

    out = [[r.what, f"{r.problems} problems", f"{100 * r.mean_a:.2f}", f"{100 * r.mean_b:.2f}", _pts(r.diff),
            ci(r.ci_low, r.ci_high), f"{r.p_value:.3g}", r.test] for r in cmp.paired]
    agg = cmp.aggregate
    if agg is not None and agg.diff is not None:
        out.append(["mean accuracy over epochs", f"{agg.n_a} / {agg.n_b} gradings", f"{100 * (agg.mean_a or 0):.2f}",
                    f"{100 * (agg.mean_b or 0):.2f}", _pts(agg.diff), ci(agg.ci_low, agg.ci_high), "–", agg.test])
    return out


ROW_HEADERS = ["measure", "n", "A %", "B %", "A − B (points)", "interval", "p", "test"]
