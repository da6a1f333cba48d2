"""Every sentence of the report is true of its run (#24): run folders of each kind, made by the real
commands where they can be, reported, and each sentence the report used to get wrong checked; then a
property over every provenance kind x price source: no sentence claims a grader, a price or a source
file the run's files do not hold."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Dict, List

import pytest
import yaml

from critpt_harness.commands.batches import cmd_assemble
from critpt_harness.commands.generate import cmd_generate
from critpt_harness.commands.grading import cmd_grade_local
from critpt_harness.commands.run import cmd_run
from critpt_harness.config.report import ReportConfig
from critpt_harness.provenance import OFFICIAL_GRADER
from critpt_harness.report.command import build_report, cmd_report
from critpt_harness.report.plot import png_size
from critpt_harness.runfiles import read_json
from critpt_harness.runs import RunFolder
from tests.fakes.llm import FakeLLMServer

from .conftest import llm_overrides, make_config
from .test_private_sets import private
from .test_report import ACC, add_snapshot, embedded_pngs, make_run, write_json

FAST = ("generation.epochs=1", "generation.progress=false", "checks.execute=false", "catalog.enabled=false")


def _md(run: Path) -> str:
    return (run / "report.md").read_text()


def _sources(md: str) -> str:
    return md.split("## Sources and attributions")[1]


def _mock_run(public_dir: Path, where: Path, *extra: str) -> tuple:
    """The offline default, as `critpt-harness run` makes it: the mock model and a dry-run submission."""
    cfg = make_config(f"dataset.path={public_dir}", f"run_dir={where}", *FAST, *extra)
    said: List[str] = []
    cmd_run(cfg, RunFolder(cfg.run_dir), echo=said.append)
    return Path(cfg.run_dir), said


# One sentence each ----------------------------------------------------------------------------------
def test_a_dry_runs_sources_cite_no_grader(public_dir, tmp_path):
    run, _ = _mock_run(public_dir, tmp_path / "dry", "report.plot=false")
    md = _md(run)
    assert "DRY RUN" in md or "dry run" in md
    assert "No score here was graded" in _sources(md)
    assert "graded by" not in md and "official CritPt grader" not in md


def test_the_mock_run_is_free_in_the_report_as_on_the_console(public_dir, tmp_path):
    run, said = _mock_run(public_dir, tmp_path / "mock", "report.plot=false")
    assert any("the offline mock model (free)" in line for line in said)  # the console's estimate
    md = _md(run)
    assert "**Money: none** (the offline mock model (free))" in md
    assert "Money: unknown" not in md and "report.input_price_per_million" not in md


@pytest.fixture
def locally_graded(example_dir, tmp_path) -> Path:
    """The mock on a private set with golden answers, graded by grade-local: every answer is wrong."""
    cfg = make_config(*private(example_dir, tmp_path, "checks.execute=false", "generation.epochs=2"))
    run = RunFolder(cfg.run_dir)
    cmd_generate(cfg, run, echo=lambda s: None)
    cmd_assemble(cfg, run, echo=lambda s: None)
    cmd_grade_local(cfg, run, echo=lambda s: None)
    cmd_report(make_config(f"run_dir={run.path}", "report.plot=false"), run, echo=lambda s: None)
    return run.path


def test_a_locally_graded_runs_rows_say_when_and_by_what(locally_graded, example_dir):
    md = _md(locally_graded)
    grades = read_json(locally_graded / "local_grades.json")
    score = md.split("## The score")[1].split("\n\n- ")[0]
    rows = [r for r in score.splitlines() if re.match(r"^\| \d+ \|", r)]
    assert len(rows) == 2
    for row in rows:
        assert "| ? |" not in row
        assert f"| {grades['graded_at']} | grade-local, golden answers from {example_dir} |" in row
    assert f"| graded | {grades['graded_at']} → {grades['graded_at']} | local_grades.json |" in md
    assert "| epochs | 2 planned, 2 graded | config.yaml, local_grades.json |" in md


def test_a_locally_graded_run_shows_each_problems_verdict_and_why(locally_graded):
    md = _md(locally_graded)
    grades = read_json(locally_graded / "local_grades.json")
    assert "### Per-problem verdicts (local_grades.json)" in md
    for pid, verdict in grades["epochs"]["0"]["problems"].items():
        assert f"| {pid} | incorrect | incorrect |" in md  # both epochs
        assert verdict["reason"] and f"| {pid} | 0, 1 | incorrect | {verdict['reason']} |" in md
    assert "expected (1 - 2*p/3)**2, got 0: they differ at" in md  # the console's words, in the report


def test_the_plots_alt_text_says_what_the_figure_draws(public_dir, tmp_path):
    run, _ = _mock_run(public_dir, tmp_path / "dry")
    html = (run / "report.html").read_text()
    alt = re.search(r'<img[^>]* alt="([^"]*)"', html).group(1)
    assert "no run of this report is drawn" in alt and "highlighted" not in alt and "cost" not in alt
    (png,) = embedded_pngs(html)
    narrow = png_size(png)[0]
    graded = make_run(tmp_path / "graded", accuracies=ACC)  # official, full set, priced by its snapshot
    add_snapshot(graded)
    build_report([graded], ReportConfig())
    html = (graded / "report.html").read_text()
    alt = re.search(r'<img[^>]* alt="([^"]*)"', html).group(1)
    assert "gpt-4o (this run) highlighted" in alt and "accuracy against cost for gpt-4o" in alt
    (png,) = embedded_pngs(html)
    assert png_size(png)[0] > narrow  # the cost panel the text promises is drawn


def test_an_empty_run_is_told_to_generate_not_to_submit(public_dir, tmp_path):
    run, _ = _mock_run(public_dir, tmp_path / "r", "report.plot=false")
    (run / "generations.jsonl").unlink()  # what a failed start left before: config and manifest only
    shutil.rmtree(run / "batches")
    shutil.rmtree(run / "requests")
    build_report([run], ReportConfig(plot=False))
    score = _md(run).split("## The score")[1].split("##")[0]
    assert f"`critpt-harness generate run_dir={run}`" in score
    assert "critpt-harness submit" not in score and "dry_run=false" not in score


def test_a_multi_run_report_names_each_run_and_leaves_out_failed_starts(public_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_LLM_KEY", "k")
    mine, _ = _mock_run(public_dir, tmp_path / "runs" / "mock" / "a", "report.plot=false")
    with FakeLLMServer() as llm:  # a real model that is called "mock" too
        cfg = make_config(*llm_overrides(llm.url, tmp_path / "runs" / "mock" / "b", f"dataset.path={public_dir}",
                                         *FAST, "model.name=mock", "report.plot=false"))
        cmd_run(cfg, RunFolder(cfg.run_dir), echo=lambda s: None)
    failed = tmp_path / "runs" / "mock" / "c"  # a failed start as an older version left it
    failed.mkdir()
    for name in ("config.yaml", "manifest.json"):
        shutil.copy(mine / name, failed / name)
    said: List[str] = []
    cmd_report(make_config("report.runs=runs/*/*", "report.plot=false", "report.output_dir=out"),
               RunFolder(tmp_path / "nowhere"), echo=said.append)
    md = (tmp_path / "out" / "report.md").read_text()
    table = md.split("## Comparison")[1].split("\n## ")[0]
    assert "| mock (mock) | runs/mock/a |" in table and "| mock (openai_compatible) | runs/mock/b |" in table
    assert "runs/mock/c" not in table and "runs/mock/c" not in md.split("## Report notes")[0]
    assert any("without any generation record skipped (failed or never started): runs/mock/c" in s for s in said)
    assert "# Run: mock (mock)" in md and "# Run: mock (openai_compatible)" in md
    from critpt_harness.analysis.summary import load, named  # the viewer, table and compare name them alike

    assert [v.name for v in named([load(mine), load(tmp_path / "runs" / "mock" / "b")])] == [
        "mock (mock)", "mock (openai_compatible)"]


# The property ---------------------------------------------------------------------------------------
LOCAL_URL = "http://127.0.0.1:8787/api/v2/critpt/evaluate"
KINDS = ("official", "official + grade-local beside", "serve-grader", "grade-local", "dry run",
         "assembled, not submitted", "failed start", "subset", "mock dry run")
PRICES = ("none", "model.pricing", "catalog snapshot")


def _make(kind: str, price: str, root: Path) -> Path:
    graded = kind in ("official", "official + grade-local beside", "serve-grader", "subset")
    run = make_run(root, accuracies=ACC if graded else None, problems=12 if kind == "subset" else 70,
                   provider="mock" if kind == "mock dry run" else "openai_compatible",
                   name="mock" if kind == "mock dry run" else "gpt-4o")
    if kind == "serve-grader":
        write_json(run / "results.json", {"epochs": {str(e): {
            "accuracy": a, "content_hash": f"h{e}", "graded_at": f"2026-01-31T1{e}:00:00+00:00",
            "source": f"local grader {LOCAL_URL}", "url": LOCAL_URL, "local_grader": True} for e, a in enumerate(ACC)}})
    if kind in ("grade-local", "official + grade-local beside"):
        write_json(run / "local_grades.json", {"golden_set": "my/answers", "local_grader": True,
                                               "graded_at": "2026-02-02T00:00:00+00:00", "epochs": {
            str(e): {"accuracy": a, "content_hash": f"h{e}",
                     "problems": {"Challenge_1_main": {"status": "incorrect", "reason": "got 2, expected 3"}}}
            for e, a in enumerate(ACC)}})
    if kind in ("assembled, not submitted", "failed start"):
        shutil.rmtree(run / "requests")
    if kind == "failed start":
        shutil.rmtree(run / "batches")
        (run / "generations.jsonl").unlink()
    if price == "model.pricing":
        config = yaml.safe_load((run / "config.yaml").read_text())
        config["model"]["pricing"] = {"input_per_million": 1.0, "output_per_million": 4.0}
        (run / "config.yaml").write_text(yaml.safe_dump(config))
    if price == "catalog snapshot":
        add_snapshot(run)
    return run


def _files_say(run: Path) -> Dict[str, bool]:
    """What the run's files hold, read here without the report's code."""
    config = yaml.safe_load((run / "config.yaml").read_text())
    results = json.loads((run / "results.json").read_text()) if (run / "results.json").exists() else {}
    epochs = list((results.get("epochs") or {}).values())
    pricing = config["model"].get("pricing") or {}
    snapshot_price = (run / "catalog" / "artificial_analysis" / "llms_models.json").exists() and any(
        m.get("pricing") for m in json.loads((run / "catalog" / "artificial_analysis" / "llms_models.json")
                                             .read_text())["response"]["data"])
    return {
        "official": bool(epochs) and all("artificialanalysis.ai" in (e.get("url") or "https://artificialanalysis.ai")
                                         and not e.get("local_grader") for e in epochs),
        "local server": any(e.get("local_grader") for e in epochs),
        "grade-local": (run / "local_grades.json").exists(),
        "mock": config["model"]["provider"] == "mock",
        "config price": pricing.get("input_per_million") is not None,
        "snapshot price": snapshot_price,
        "records": (run / "generations.jsonl").exists(),
    }


@pytest.mark.parametrize("price", PRICES)
@pytest.mark.parametrize("kind", KINDS)
def test_no_sentence_claims_a_grader_a_price_or_a_source_the_files_do_not_hold(kind, price, tmp_path):
    run = _make(kind, price, tmp_path / "run")
    build_report([run], ReportConfig(plot=False, formats=["md"]))
    md, has = _md(run), _files_say(run)
    # graders
    if f"graded by {OFFICIAL_GRADER}" in md or "OFFICIAL grading" in md or "OFFICIAL grader" in md:
        assert has["official"], "claims the official grader"
    if "graded by grade-local" in md:
        assert has["grade-local"], "claims grade-local"
    if "graded by a local grader at" in md:
        assert has["local server"], "claims a local grader"
    if not (has["official"] or has["grade-local"] or has["local server"]):
        assert "graded by" not in md and "No score here was graded" in _sources(md)
    # prices
    if has["mock"] and not has["config price"]:
        assert "**Money: none** (the offline mock model (free))" in md
    elif has["records"] and not (has["config price"] or has["snapshot price"]):
        assert "**Money: unknown.**" in md and "**cost: $" not in md
    elif has["records"]:
        assert "**cost: $" in md and "Money: unknown" not in md
        source = re.search(r"per million tokens — from (.*)", md).group(1)
        if has["config price"]:
            assert source.startswith("model.pricing (the run's config.yaml)")
        else:
            file = re.search(r"\((catalog/[^)]+\.json)\)", source).group(1)
            assert (run / file).is_file(), source
    # source files
    for file in ("results.json", "local_grades.json"):
        claimed = f"({file}" in md or f"| {file} |" in md or f", {file} |" in md
        assert not claimed or (run / file).exists(), f"names {file}, which the run does not hold"
    score_table = md.split("## The score")[1].split("\n## ")[0]
    for row in score_table.splitlines():
        if re.match(r"^\| \d+ \|", row) and row.count("|") == 7:  # epoch rows of the score table
            assert "| ? |" not in row, row
    graded_row = next(x for x in md.splitlines() if x.startswith("| graded |"))
    named = graded_row.rstrip(" |").rsplit("| ", 1)[1]
    assert named.startswith("no ") or (run / named).exists(), graded_row
