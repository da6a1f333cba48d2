"""`critpt-harness compare`: the paired test over problems (checked against a hand computation on
runs whose per-problem outcomes are known), the difference of means over epochs where only
aggregates exist, what cannot be concluded, and the multi-run report using the same numbers."""

from __future__ import annotations

import itertools
import json
import math
import statistics
from pathlib import Path

import pytest
from scipy import stats

from critpt_harness.config.report import ReportConfig
from critpt_harness.report.command import build_report
from critpt_harness.report.data import load_run
from critpt_harness.report.paired import compare_run_data, paired, rows, sign_flip_p, welch

from .conftest import run_cli
from .reading_runs import CORRECT_A, CORRECT_B, EPOCHS, OFFICIAL_A, OFFICIAL_B, PROBLEMS, cli, gold_id


def _load(a: Path, b: Path):
    cfg = ReportConfig(plot=False)
    return load_run(a, cfg), load_run(b, cfg)


def test_with_one_epoch_the_sign_flip_test_is_mcnemars_exact_test():
    # 6 problems only A gets right, 1 only B, 3 both or neither: McNemar's exact p = 2 P(Bin(7, 1/2) <= 1)
    a = {f"p{i}": [x] for i, x in enumerate([1] * 6 + [0] + [1, 0, 1])}
    b = {f"p{i}": [x] for i, x in enumerate([0] * 6 + [1] + [1, 0, 1])}
    result = paired("verdict", a, b)
    mcnemar = 2 * sum(math.comb(7, k) for k in (0, 1)) / 2 ** 7
    assert result.p_value == pytest.approx(mcnemar) == pytest.approx(0.125)
    assert (result.a_better, result.b_better, result.ties, result.problems) == (6, 1, 3, 10)
    assert result.diff == pytest.approx(0.5) and result.exact


def test_the_sign_flip_test_counts_every_sign_pattern():
    diffs = [1.0, 0.5, -0.5, 0.0, 0.25, -1.0, 0.75]
    observed = abs(sum(diffs))
    hits = sum(abs(sum(s * d for s, d in zip(signs, diffs))) >= observed - 1e-12
               for signs in itertools.product((1, -1), repeat=len(diffs)))
    assert sign_flip_p(diffs, 4) == pytest.approx(hits / 2 ** len(diffs))
    assert sign_flip_p([0.0, 0.0], 1) == 1.0


def test_the_paired_comparison_of_two_locally_graded_runs_matches_a_hand_computation(graded_runs):
    a, b = _load(graded_runs["A"], graded_runs["B"])
    cmp = compare_run_data(a, b, ("A", "B"))
    verdict = next(r for r in cmp.paired if r.measure == "verdict")
    # per problem: share of the 2 epochs answered right, A minus B
    d = [(CORRECT_A[n] - CORRECT_B[n]) / EPOCHS for n in range(1, PROBLEMS + 1)]
    assert verdict.problems == PROBLEMS and verdict.exact
    assert verdict.mean_a == pytest.approx(sum(CORRECT_A.values()) / (PROBLEMS * EPOCHS))
    assert verdict.mean_b == pytest.approx(sum(CORRECT_B.values()) / (PROBLEMS * EPOCHS))
    assert verdict.diff == pytest.approx(statistics.fmean(d)) == pytest.approx(0.25)
    assert (verdict.a_better, verdict.b_better, verdict.ties) == (3, 1, 4)
    # the exact sign-flip p-value, counted by hand over all 2^4 sign patterns of the non-zero d: 6 of 16
    nonzero = [x for x in d if x]
    hits = sum(abs(sum(s * x for s, x in zip(signs, nonzero))) >= abs(sum(d)) - 1e-12
               for signs in itertools.product((1, -1), repeat=len(nonzero)))
    assert hits == 6 and verdict.p_value == pytest.approx(6 / 16)
    # t-interval over problems: mean(d) +- t(7) sd(d) / sqrt(8)
    half = stats.t.ppf(0.975, PROBLEMS - 1) * statistics.stdev(d) / math.sqrt(PROBLEMS)
    assert (verdict.ci_low, verdict.ci_high) == (pytest.approx(0.25 - half), pytest.approx(0.25 + half))
    # every answer was well-formed in both runs: no difference in the checks
    checks = next(r for r in cmp.paired if r.measure == "checks")
    assert (checks.diff, checks.p_value, checks.ties) == (0.0, 1.0, PROBLEMS)
    # both graded locally: their mean accuracies are compared too (Welch over the 2 + 2 epochs)
    acc_a = [sum(1 for n in CORRECT_A if CORRECT_A[n] > e) / PROBLEMS for e in range(EPOCHS)]
    acc_b = [sum(1 for n in CORRECT_B if CORRECT_B[n] > e) / PROBLEMS for e in range(EPOCHS)]
    assert cmp.aggregate.diff == pytest.approx(statistics.fmean(acc_a) - statistics.fmean(acc_b))
    said = " ".join(cmp.statements)
    assert "A better on 3, B on 1, tied on 4" in said and "no difference shown at the 95% level (p = 0.375)" in said


def test_only_aggregates_give_a_welch_interval_and_say_what_cannot_be_concluded(official_runs):
    a, b = _load(official_runs["A"], official_runs["B"])
    assert a.provenance.ranked and b.provenance.ranked  # both official gradings of the full public set
    cmp = compare_run_data(a, b, ("A", "B"))
    assert [r.measure for r in cmp.paired] == ["checks"]  # no per-problem correctness from the official grader
    agg = cmp.aggregate
    va, vb = statistics.variance(OFFICIAL_A) / 3, statistics.variance(OFFICIAL_B) / 3
    df = math.floor((va + vb) ** 2 / (va ** 2 / 2 + vb ** 2 / 2))
    half = stats.t.ppf(0.975, df) * math.sqrt(va + vb)
    diff = statistics.fmean(OFFICIAL_A) - statistics.fmean(OFFICIAL_B)
    assert (agg.diff, agg.df) == (pytest.approx(diff), df)
    assert (agg.ci_low, agg.ci_high) == (pytest.approx(diff - half), pytest.approx(diff + half))
    said = " ".join(cmp.statements)
    assert "the official grader returns one accuracy per epoch" in said
    assert "nothing can be said about which problems" in said and "the epochs show a difference" in said


def test_welch_without_two_gradings_each_gives_no_interval():
    result = welch([0.1], [0.05, 0.07])
    assert result.diff == pytest.approx(0.04) and result.ci_low is None


def test_scores_of_different_graders_are_not_compared(graded_runs, official_runs):
    a, b = _load(graded_runs["A"], official_runs["A"])
    cmp = compare_run_data(a, b, ("A", "B"))
    assert cmp.aggregate is None
    assert any("different graders" in s for s in cmp.statements)
    assert any("did not answer the same problem set" in s for s in cmp.statements)


def _snapshot(folder: Path):
    return {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


def test_the_compare_command(graded_runs, tmp_path, capsys, monkeypatch):
    before = {k: _snapshot(p) for k, p in graded_runs.items()}
    out = run_cli("compare", str(graded_runs["A"]), str(graded_runs["B"]), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "correct in the local grading" in out.stdout and "+25.00" in out.stdout and "0.375" in out.stdout
    assert "LOCAL grading" in out.stdout
    monkeypatch.chdir(tmp_path)
    code, text, _ = cli(capsys, "compare", str(graded_runs["A"]), str(graded_runs["B"]), "--format", "json")
    data = json.loads(text)
    assert data["paired"][0]["p_value"] == pytest.approx(0.375) and data["path_a"] == str(graded_runs["A"])
    assert {k: _snapshot(p) for k, p in graded_runs.items()} == before  # compare writes nothing
    code, _, err = cli(capsys, "compare", str(graded_runs["A"]))
    assert code == 2 and "exactly two run folders" in err
    code, _, err = cli(capsys, "compare", str(graded_runs["A"]), str(graded_runs["B"]), "--format", "pdf")
    assert code == 2 and "compare.format='pdf'" in err


def test_the_multi_run_report_uses_compares_numbers(graded_runs, tmp_path):
    result = build_report([graded_runs["A"], graded_runs["B"]], ReportConfig(plot=False, formats=["md"]),
                          out_dir=tmp_path)
    text = (tmp_path / "report.md").read_text()
    assert "Paired comparisons" in text
    a, b = result.runs
    for row in rows(compare_run_data(b, a, ("model-b", "model-a"))):  # each run as A against the first
        assert " | ".join(row[:6]) in text.replace("\\|", "|")
    assert gold_id(1) not in text.split("Paired comparisons")[0]  # the section is the comparison, not the items
