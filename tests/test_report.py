"""`critpt-harness report` on fixture run folders written file by file: known
accuracies, tokens and prices in; known numbers, matches, attributions, an
embedded plot and a multi-run table out; never a network call."""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Dict, List, Optional

import pytest
import yaml

from critpt_harness.errors import RunFolderError
from critpt_harness.report.command import build_report, cmd_report, report_stage, resolve_runs
from critpt_harness.config.report import ReportConfig
from critpt_harness.report.plot import png_size
from critpt_harness.runs import RunFolder

AA_ID = "5b0c3f0e-9a1e-4d8e-8f00-000000000040"
FETCHED = "2026-02-01T08:00:00+00:00"
CHECKS = ("extracted", "parses", "signature", "no_placeholders", "imports", "module_level_kept")


# Fixture run folders ---------------------------------------------------------------------------------
def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")


def make_run(root: Path, *, name: str = "gpt-4o", label: Optional[str] = None, provider: str = "openai_compatible",
             accuracies: Optional[List[float]] = None, epochs: int = 5, problems: int = 70,
             prompt_tokens: int = 1000, completion_tokens: int = 2000, use_python: bool = False,
             failing_check: Optional[str] = None, checks_files: bool = True) -> Path:
    """A run folder as the pipeline leaves it; ``accuracies=None`` = a dry run (no results.json)."""
    root.mkdir(parents=True)
    config = {"command": "run", "run_dir": str(root),
              "model": {"name": name, "provider": provider, "base_url": "https://api.example.com/v1",
                        "label": label, "api": "chat", "reasoning_effort": "high", "reasoning_tokens": None,
                        "catalog_ids": {}},
              "generation": {"epochs": epochs, "parsing": False, "use_python": use_python, "use_web_search": False},
              "evaluator": {"dry_run": accuracies is None}}
    (root / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    write_json(root / "manifest.json", {"created_at": "2026-01-30T09:00:00+00:00", "git_revision": "abc123def456",
                                        "packages": {"critpt-harness": "0.1.0"}, "dataset_sha256": "d" * 64,
                                        "prompt_hash": "p" * 64, "config_hash": "c" * 64, "model": label or name})
    lines = []
    for epoch in range(epochs):
        for i in range(1, problems + 1):
            checks = [{"name": c, "passed": not (c == failing_check and i == 1), "message": ""} for c in CHECKS]
            lines.append(json.dumps({
                "problem_id": f"Challenge_{i}_main", "epoch": epoch, "status": "ok", "model": name,
                "parsing": False, "messages": [], "replies": ["..."], "checks": checks,
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                          "reasoning_tokens": completion_tokens // 2, "total_tokens": prompt_tokens + completion_tokens},
                "turns": [{"turn": 1, "latency_s": 2.0}], "tool_calls": [], "web_searches": 0,
                "started_at": f"2026-01-30T10:{epoch:02d}:00+00:00",
                "finished_at": f"2026-01-30T10:{epoch:02d}:30+00:00", "duration_s": 3.0}))
    (root / "generations.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for epoch in range(epochs):
        if checks_files:
            passed = problems - (1 if failing_check else 0)
            write_json(root / "batches" / f"epoch_{epoch}.checks.json",
                       {"problems": problems, "passed_all": passed,
                        "passed_per_check": {c: passed if c == failing_check else problems for c in CHECKS},
                        "failures": {}})
        if accuracies is None:
            write_json(root / "requests" / f"epoch_{epoch}.request.json", {"method": "POST", "body_bytes": 1})
    if accuracies is not None:
        write_json(root / "results.json", {"epochs": {
            str(e): {"accuracy": a, "timeout_rate": 1 / 70 if e == 0 else 0.0, "server_timeout_count": 1 if e == 0 else 0,
                     "judge_error_count": 2 if e == 1 else 0, "content_hash": f"h{e}",
                     "graded_at": f"2026-01-31T1{e}:00:00+00:00", "source": "grader"}
            for e, a in enumerate(accuracies)}})
    return root


def envelope(api: str, endpoint: str, response: Any, attribution: str) -> Dict[str, Any]:
    return {"api": api, "endpoint": endpoint, "source_url": f"https://example.invalid/{api}/{endpoint}",
            "fetched_at": FETCHED, "origin": {"network": 1}, "attribution": attribution, "response": response}


AA_ATTR = "Data from Artificial Analysis, https://artificialanalysis.ai/"
OR_ATTR = "Benchmark data via OpenRouter, https://openrouter.ai/rankings"
REG_ATTR = "Data from LLM Registry, https://llm-registry.com"


def add_snapshot(run: Path, *, aa_prices: bool = True, matches: bool = True) -> Path:
    """A catalog snapshot as `critpt-harness catalog` writes it (AA, OpenRouter, LLM Registry)."""
    folder = run / "catalog"
    aa_models = [
        {"id": AA_ID, "name": "GPT-4o (Nov '24)", "slug": "gpt-4o", "model_creator": {"id": "oa", "slug": "openai"},
         "evaluations": {"artificial_analysis_intelligence_index": 41.3, "artificial_analysis_coding_index": 30.1,
                         "critpt": 0.004},
         "pricing": {"price_1m_input_tokens": 2.5, "price_1m_output_tokens": 10.0} if aa_prices else {},
         "median_output_tokens_per_second": 110.2},
        {"id": "aa-gpt5", "name": "GPT-5 (high)", "slug": "gpt-5", "evaluations": {"critpt": 0.057},
         "pricing": {"price_1m_input_tokens": 1.25, "price_1m_output_tokens": 10.0}},
        {"id": "aa-new", "name": "Newcomer X", "slug": "newcomer-x", "evaluations": {"critpt": 0.201}},
    ]
    write_json(folder / "artificial_analysis" / "llms_models.json",
               envelope("artificial_analysis", "llms_models", {"status": 200, "data": aa_models}, AA_ATTR))
    write_json(folder / "openrouter" / "benchmarks.json", envelope("openrouter", "benchmarks", {
        "data": [{"model_permaslug": "openai/gpt-4o", "display_name": "GPT-4o", "intelligence_index": 71.2,
                  "coding_index": 65.8, "pricing": {"prompt": "0.000003", "completion": "0.000012"},
                  "source": "artificial-analysis"}],
        "meta": {"as_of": "2026-01-15T00:00:00Z", "citation": "Source: Artificial Analysis via OpenRouter"}}, OR_ATTR))
    write_json(folder / "llm_registry" / "models.json", envelope("llm_registry", "models", {
        "models": [{"id": "gpt-4o", "name": "GPT-4o", "provider": "OpenAI"}]}, REG_ATTR))
    write_json(folder / "llm_registry" / "benchmarks.json", envelope("llm_registry", "benchmarks", {
        "benchmarks": [{"id": "critpt", "name": "CritPt", "maxScore": 100}]}, REG_ATTR))
    write_json(folder / "llm_registry" / "scores.json", envelope("llm_registry", "scores", {"scores": [
        {"modelId": "gpt-4o", "modelName": "GPT-4o", "benchmarkId": "critpt", "score": 0.4,
         "sourceId": "artificial-analysis", "asOfDate": "2026-01-10"}]}, REG_ATTR))
    apis = {api: {"title": api, "attribution": attr, "status": "ok", "endpoints": {"x": {}}}
            for api, attr in (("artificial_analysis", AA_ATTR), ("openrouter", OR_ATTR), ("llm_registry", REG_ATTR))}
    apis["aimodelsmap"] = {"title": "AI Models Map", "attribution": "Data from AI Models Map", "status": "skipped",
                           "endpoints": {}}
    write_json(folder / "index.json", {"taken_at": FETCHED, "apis": apis, "attributions": [AA_ATTR, OR_ATTR, REG_ATTR]})
    if matches:
        write_json(folder / "matches.json", {"model": "gpt-4o", "label": None, "matched_at": FETCHED, "matches": [
            {"catalog": "artificial_analysis", "query": "gpt-4o", "entry_id": AA_ID, "entry_name": "GPT-4o (Nov '24)",
             "method": "exact", "confidence": 0.95, "candidates": [], "published": {}, "note": ""},
            {"catalog": "openrouter", "query": "gpt-4o", "entry_id": "openai/gpt-4o", "entry_name": "GPT-4o",
             "method": "normalised", "confidence": 0.85, "candidates": [], "published": {}, "note": ""},
            {"catalog": "llm_registry", "query": "gpt-4o", "entry_id": "gpt-4o", "entry_name": "GPT-4o",
             "method": "exact", "confidence": 0.95, "candidates": [], "published": {}, "note": ""},
            {"catalog": "aimodelsmap", "query": "gpt-4o", "entry_id": None, "entry_name": None,
             "method": "unavailable", "confidence": 0.0, "candidates": [], "published": {},
             "note": "catalog skipped in this snapshot"}]})
    return folder


ACC = [0.10, 0.12, 0.08, 0.10, 0.11]  # mean 10.20%, SE 0.66%, 95% interval 8.36% - 12.04%


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """The report reads files only: any connection attempt fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"the report tried to use the network: {args}")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Dict[str, Any]:
    """One graded run with a snapshot, reported once (md, html, json, plot) for several tests."""
    run = make_run(tmp_path_factory.mktemp("g") / "run", accuracies=ACC, failing_check="imports")
    add_snapshot(run)
    result = build_report([run], ReportConfig(formats=["md", "html", "json"]))
    return {"run": run, "result": result, "md": (run / "report.md").read_text(),
            "html": (run / "report.html").read_text(), "json": json.loads((run / "report.json").read_text())}


# Tests ---------------------------------------------------------------------------------------------------
def test_known_accuracies_give_known_mean_se_and_interval_in_the_report(graded):
    md, data = graded["md"], graded["json"]
    assert "**mean accuracy: 10.20%** over 5 graded epochs" in md
    assert "standard error: 0.66%" in md
    assert "95% interval: 8.36% – 12.04%" in md and "4 degrees of freedom, t = 2.776" in md
    for epoch, acc in enumerate(ACC):
        assert f"| {epoch} | {100 * acc:.2f}% |" in md
    assert "judge errors: 2, grader timeouts: 1" in md
    stats = data["runs"][0]["stats"]
    assert stats["mean"] == pytest.approx(0.102) and stats["ci_high"] == pytest.approx(0.120417, abs=1e-5)
    table = graded["result"].table_text
    assert "gpt-4o" in table and "10.20%" in table and "8.36%-12.04%" in table


def test_local_checks_are_counted_per_epoch(graded):
    md = graded["md"]
    assert "| epoch | problems | passed all | extracted | parses | signature | no_placeholders | imports |" in md
    assert "| 0 | 70 | 69 | 70 | 70 | 70 | 70 | 69 | 70 | batches/epoch_0.checks.json |" in md


def test_checks_come_from_the_records_when_no_checks_file(tmp_path):
    run = make_run(tmp_path / "run", accuracies=ACC, failing_check="signature", checks_files=False)
    build_report([run], ReportConfig(plot=False, formats=["md"]))
    md = (run / "report.md").read_text()
    assert "| 0 | 70 | 69 | 70 | 70 | 69 |" in md and "generations.jsonl (records' checks)" in md


def test_prices_from_the_snapshot_give_the_cost(graded):
    md = graded["md"]
    # 5 epochs x 70 problems x (1000 in, 2000 out) = 350,000 in, 700,000 out at $2.50 / $10.00 per million
    assert "| tokens in (prompt), total | 350,000 |" in md and "| tokens out (completion), total | 700,000 |" in md
    assert "**cost: $7.88** ($0.8750 input + $7.00 output), $1.57 per epoch" in md
    assert "Artificial Analysis `pricing.price_1m_input_tokens / price_1m_output_tokens` of 'GPT-4o (Nov '24)'" in md
    assert f"catalog/artificial_analysis/llms_models.json), fetched {FETCHED}" in md
    assert graded["json"]["runs"][0]["cost"]["price"]["input_per_million"] == 2.5


def test_without_catalog_prices_the_next_catalog_or_the_config_prices_it(tmp_path):
    run = make_run(tmp_path / "a", accuracies=ACC)
    add_snapshot(run, aa_prices=False)
    build_report([run], ReportConfig(plot=False, formats=["md"]))
    md = (run / "report.md").read_text()
    # OpenRouter's per-token prices: $3 / $12 per million -> 1.05 + 8.40
    assert "**cost: $9.45**" in md and "OpenRouter `pricing.prompt / completion (per token)`" in md

    bare = make_run(tmp_path / "b", accuracies=ACC)
    build_report([bare], ReportConfig(plot=False, formats=["md"]))
    assert "**Money: unknown.**" in (bare / "report.md").read_text()
    build_report([bare], ReportConfig(plot=False, formats=["md"], input_price_per_million=1.0,
                                      output_price_per_million=4.0))
    md = (bare / "report.md").read_text()
    assert "**cost: $3.15**" in md and "report config (report.input_price_per_million" in md


def test_model_matching_and_published_scores_are_shown(graded):
    md = graded["md"]
    assert ("| Artificial Analysis | gpt-4o | GPT-4o (Nov '24) (`5b0c3f0e-9a1e-4d8e-8f00-000000000040`) | exact | "
            "0.95 |") in md
    assert "| OpenRouter | gpt-4o | GPT-4o (`openai/gpt-4o`) | normalised | 0.85 |" in md
    assert "| AI Models Map | gpt-4o | – not matched | unavailable |" in md
    assert "Artificial Analysis: **GPT-4o (Nov '24) 0.40%** (`evaluations.critpt` = 0.004" in md
    assert "LLM Registry: **GPT-4o 0.40%**" in md and "as of 2026-01-10" in md
    assert "official CritPt table: **GPT-4o 0.0%** (Official CritPt repository README, 2025-11-21" in md
    assert "this run's 95% interval excludes it" in md
    # context from the other catalogs, each with its file and date
    assert "| Artificial Analysis | Intelligence Index | 41.3 | index |" in md
    assert "| OpenRouter | Coding Index (artificial-analysis) | 65.8 | index | as of 2026-01-15T00:00:00Z;" in md


def test_without_stored_matches_the_report_matches_offline(tmp_path):
    run = make_run(tmp_path / "run", accuracies=ACC)
    add_snapshot(run, matches=False)
    build_report([run], ReportConfig(plot=False, formats=["md"]))
    md = (run / "report.md").read_text()
    assert "| Artificial Analysis | gpt-4o | GPT-4o (Nov '24)" in md and "matched offline by the report" in md


def test_the_leaderboard_places_the_run_among_the_official_table_and_lists_catalog_scores(graded):
    md = graded["md"]
    # above 10.2%: 12.6 and 10.6 (official); Newcomer X 20.1 (catalog) is listed, not counted: the
    # catalogs do not say which CritPt version their scores were made on
    assert "places **3 of 14**" in md  # 13 official scores + the run
    assert "| · | Newcomer X | 20.1 |  | catalog (version not stated) | Artificial Analysis `evaluations.critpt`" in md
    assert "| 1 | GPT-5 (high, code & web) | 12.6 |" in md
    assert "| → | **gpt-4o (this run)** | 10.20 | 8.36 – 12.04 | run |" in md


def test_attributions_are_printed(graded):
    for text in (graded["md"], graded["html"]):
        assert "https://artificialanalysis.ai/" in text
        assert "arXiv:2509.26574" in text and "attribute results to the CritPt project" in text
        assert "Benchmark data via OpenRouter" in text and "Data from LLM Registry" in text


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.srcs: List[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.srcs.append(dict(attrs).get("src") or "")


def embedded_pngs(html: str) -> List[bytes]:
    parser = _Images()
    parser.feed(html)
    prefix = "data:image/png;base64,"
    return [base64.b64decode(s[len(prefix):], validate=True) for s in parser.srcs if s.startswith(prefix)]


def test_the_html_is_self_contained_with_the_plot_embedded(graded):
    html = graded["html"]
    pngs = embedded_pngs(html)
    assert len(pngs) == 1
    width, height = png_size(pngs[0])
    assert width >= 600 and height >= 250
    assert pngs[0] == (graded["run"] / "report.png").read_bytes()
    assert "![CritPt leaderboard" in graded["md"] and "(report.png)" in graded["md"]
    assert "<link" not in html and "<script" not in html  # nothing to fetch


def test_text_from_the_run_is_escaped_in_html(tmp_path):
    run = make_run(tmp_path / "run", name="<script>x</script>", accuracies=ACC, epochs=2, problems=3)
    build_report([run], ReportConfig(plot=False, formats=["html"]))
    html = (run / "report.html").read_text()
    assert "<script>x" not in html and "&lt;script&gt;x" in html


def test_a_dry_run_gets_a_report_that_says_it_has_no_graded_result(tmp_path):
    run = make_run(tmp_path / "run", name="mock", provider="mock", accuracies=None, epochs=2)
    echoed: List[str] = []
    cmd_report(SimpleNamespace(report=ReportConfig(plot=False)), RunFolder(run), echo=echoed.append)
    md = (run / "report.md").read_text()
    assert "**No graded result**: this run was a dry run" in md and "requests/epoch_0.request.json" in md
    assert "evaluator.dry_run=false" in md and "Not placed: the run has no graded result." in md
    assert "(run.html)" not in md and (run / "report.html").exists()
    assert any("no graded result (dry run)" in line for line in echoed)
    assert "none" in echoed[0] + echoed[1]


def test_several_runs_by_glob_give_one_comparison_table(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    a = make_run(tmp_path / "runs" / "gpt-4o" / "t1", accuracies=ACC)
    add_snapshot(a)
    make_run(tmp_path / "runs" / "gpt-5" / "t1", name="gpt-5", label="gpt-5-high-code", use_python=True,
             accuracies=[0.10, 0.11], epochs=2, problems=70)
    make_run(tmp_path / "runs" / "mock" / "t1", name="mock", provider="mock", accuracies=None, epochs=1, problems=2)
    (tmp_path / "runs" / "catalog" / "2026-01-01").mkdir(parents=True)  # not a run folder: skipped
    cfg = SimpleNamespace(report=ReportConfig(runs=["runs/*/*"], output_dir="out", formats=["md", "html"],
                                              input_price_per_million=1.0, output_price_per_million=2.0))
    echoed: List[str] = []
    result = cmd_report(cfg, RunFolder(tmp_path / "nowhere"), echo=echoed.append)
    assert [r.label for r in result.runs] == ["gpt-4o", "gpt-5-high-code", "mock"]
    md = (tmp_path / "out" / "report.md").read_text()
    assert md.startswith("# CritPt report: 3 runs")
    assert "| run | folder | protocol | tools | effort | epochs graded | mean | SE | 95% interval |" in md
    assert "| gpt-4o | runs/gpt-4o/t1 | two-step | none | high | 5/5 | 10.20% | 0.66% | 8.36% – 12.04% |" in md
    assert "| gpt-5-high-code | runs/gpt-5/t1 | two-step | python | high | 2/2 | 10.50% |" in md
    assert "| mock | runs/mock/t1 | two-step | none | high | 0/1 | not graded |" in md
    # catalog prices for gpt-4o, the config's for gpt-5; the offline mock is free whatever the config's price
    assert "$7.88" in md and "$0.7000" in md and "$0.0100" not in md  # 140k in + 280k out at $1/$2
    assert "**Money: none** (the offline mock model (free))" in md
    assert "official CritPt table: **GPT-5 (high, code) 10.6%**" in md
    assert "| → | **gpt-4o (run)** |" in md and "| → | **gpt-5-high-code (run)** |" in md
    assert len(embedded_pngs((tmp_path / "out" / "report.html").read_text())) == 1
    assert any("without config.yaml skipped" in line for line in echoed)
    assert "gpt-5-high-code" in result.table_text and "mock" in result.table_text


def test_settings_that_differ_from_the_published_entry_are_said(tmp_path):
    run = make_run(tmp_path / "run", name="gpt-5", label="gpt-5-high-code", use_python=False, accuracies=ACC)
    build_report([run], ReportConfig(plot=False, formats=["md"]))
    assert "settings differ: generation.use_python: published true, this run false" in (run / "report.md").read_text()


def test_missing_run_folders_are_clear_errors(tmp_path):
    with pytest.raises(RunFolderError, match="does not exist"):
        build_report([tmp_path / "nope"], ReportConfig())
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunFolderError, match="no config.yaml"):
        build_report([tmp_path / "empty"], ReportConfig())
    with pytest.raises(RunFolderError, match="matches no run folder"):
        resolve_runs([str(tmp_path / "runs" / "*" / "*")])
    with pytest.raises(RunFolderError, match="run_dir"):
        cmd_report(SimpleNamespace(report=ReportConfig()), RunFolder(tmp_path / "nope"))
    echoed: List[str] = []
    assert report_stage(SimpleNamespace(), RunFolder(tmp_path / "nope"), echo=echoed.append) is None
    assert "warning: report failed" in echoed[0]


def test_rerunning_the_report_reads_the_same_files_and_writes_the_same_numbers(graded):
    again = build_report([graded["run"]], ReportConfig(formats=["json"], plot=False))
    first, second = graded["json"]["runs"][0], json.loads(again.files[0].read_text())["runs"][0]
    assert first["stats"] == second["stats"] and first["cost"] == second["cost"]


def test_importing_the_report_command_does_not_load_matplotlib():
    code = ("import sys, critpt_harness.report, critpt_harness.report.command; "
            "print('matplotlib' in sys.modules, 'scipy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["False", "False"], out.stderr


def test_execution_checks_and_static_only_problems_are_reported(tmp_path):
    run = make_run(tmp_path / "run", accuracies=ACC, epochs=1, problems=70)
    write_json(run / "batches" / "epoch_0.checks.json", {
        "problems": 70, "passed_all": 66, "answered": [], "failures": {},
        "passed_per_check": {**{c: 70 for c in CHECKS}, "executes": 64},
        "not_executable": ["Challenge_20_main", "Challenge_45_main", "Challenge_62_main"]})
    build_report([run], ReportConfig(plot=False, formats=["md"]))
    md = (run / "report.md").read_text()
    assert "| module_level_kept | executes | from |" in md and "| 70 | 64 | batches/epoch_0.checks.json |" in md
    assert "3 problem(s) per epoch were checked statically only" in md


def test_a_shared_snapshot_serves_runs_without_their_own(tmp_path):
    donor = make_run(tmp_path / "donor", accuracies=ACC, epochs=1, problems=1)
    shared = add_snapshot(donor, matches=False)
    run = make_run(tmp_path / "run", accuracies=ACC)
    build_report([run], ReportConfig(plot=False, formats=["md"], catalog_dir=str(shared)))
    md = (run / "report.md").read_text()
    assert "(shared snapshot from report.catalog_dir)" in md and "**cost: $7.88**" in md
    with pytest.raises(RunFolderError, match="report.catalog_dir"):
        build_report([run], ReportConfig(plot=False, catalog_dir=str(tmp_path / "none")))


def test_an_unbracketed_glob_on_the_command_line_is_accepted(tmp_path, monkeypatch):
    from .conftest import make_config

    monkeypatch.chdir(tmp_path)
    make_run(tmp_path / "runs" / "gpt-4o" / "t1", accuracies=ACC)
    make_run(tmp_path / "runs" / "gpt-4o" / "t2", accuracies=None)
    cfg = make_config("report.runs=runs/*/*", "report.plot=false", "report.output_dir=out")
    result = cmd_report(cfg, RunFolder(tmp_path / "nowhere"), echo=lambda _: None)
    assert [r.path.name for r in result.runs] == ["t1", "t2"]
