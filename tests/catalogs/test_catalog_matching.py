"""Matching a run's model to catalog entries: explicit ids win, then exact,
normalised and version-stripped names; ambiguity and near misses are reported."""

from __future__ import annotations

import pytest

from critpt_harness.catalogs.snapshot import take_snapshot
from critpt_harness.catalogs.matching import Candidate, match_in, match_model, normalise, strip_version


def _cands(*pairs):
    return [Candidate(i, n, [i, n]) for i, n in pairs]


@pytest.mark.parametrize("raw, expected", [
    ("openai/gpt-4o", "gpt-4o"), ("GPT-4o", "gpt-4o"), ("Claude 3.5 Sonnet", "claude-3-5-sonnet"),
    ("meta-llama/llama-3.1-70b-instruct:free", "llama-3-1-70b-instruct"), ("o3_mini", "o3-mini"),
])
def test_normalise(raw, expected):
    assert normalise(raw) == expected


def test_strip_version_drops_dates_only():
    assert strip_version("claude-3-5-sonnet-20241022") == "claude-3-5-sonnet"
    assert strip_version("gpt-4o-2024-08-06") == "gpt-4o"
    assert strip_version("mistral-large-latest") == "mistral-large"
    assert strip_version("llama-3-1-70b") == "llama-3-1-70b"


def test_each_stage_and_its_confidence():
    cands = _cands(("gpt-4o", "GPT-4o"), ("claude-3-5-sonnet-20241022", "Claude 3.5 Sonnet"),
                   ("gpt-4o-mini", "GPT-4o mini"))
    exact = match_in("x", cands, ["gpt-4o"])
    assert (exact.entry_id, exact.method, exact.confidence) == ("gpt-4o", "exact", 0.95)
    norm = match_in("x", cands, ["anthropic/claude-3.5-sonnet"])
    assert (norm.entry_id, norm.method) == ("claude-3-5-sonnet-20241022", "normalised")
    stripped = match_in("x", _cands(("claude-3-5-sonnet", "Claude")), ["claude-3-5-sonnet-20241022"])
    assert (stripped.method, stripped.confidence) == ("version-stripped", 0.7)
    # The label is tried when the name finds nothing.
    by_label = match_in("x", cands, ["my-finetune", "GPT-4o mini"])
    assert by_label.entry_id == "gpt-4o-mini" and by_label.query == "GPT-4o mini"


def test_explicit_id_wins_even_over_an_exact_name():
    cands = _cands(("gpt-4o", "GPT-4o"), ("gpt-4o-2024-11-20", "GPT-4o (Nov)"))
    pinned = match_in("x", cands, ["gpt-4o"], explicit="gpt-4o-2024-11-20")
    assert (pinned.entry_id, pinned.entry_name, pinned.method, pinned.confidence) == (
        "gpt-4o-2024-11-20", "GPT-4o (Nov)", "explicit", 1.0)
    missing = match_in("x", cands, ["gpt-4o"], explicit="gpt-5")
    assert missing.entry_id == "gpt-5" and "not in this snapshot" in missing.note


def test_ambiguity_is_reported_not_resolved():
    cands = _cands(("a/gpt-4o", "GPT-4o"), ("b/gpt-4o", "GPT 4o"))
    result = match_in("openrouter", cands, ["GPT_4o"])
    assert result.entry_id is None and result.method == "ambiguous"
    assert {c["id"] for c in result.candidates} == {"a/gpt-4o", "b/gpt-4o"}
    assert "catalog.model_ids.openrouter" in result.note


def test_near_misses_are_suggestions_without_a_match():
    result = match_in("x", _cands(("gpt-4o", "GPT-4o"), ("o3-mini", "o3-mini")), ["gpt-4o-turbo"])
    assert result.entry_id is None and result.method == "none" and result.confidence == 0.0
    assert [c["id"] for c in result.candidates] == ["gpt-4o"]


def test_match_model_against_a_snapshot_with_search_fallback(cfg, fakes, tmp_path):
    take_snapshot(cfg, tmp_path / "snap", echo=lambda _: None)
    results = {m.catalog: m for m in match_model(cfg, tmp_path / "snap", "Claude 3.5 Sonnet")}
    assert results["artificial_analysis"].entry_id is None  # AA's slug is claude-35-sonnet: not guessed
    assert results["llm_registry"].entry_id == "claude-3-5-sonnet-20241022"
    assert results["openrouter"].method == "exact"  # display_name
    assert results["aimodelsmap"].method == "exact"

    before = fakes.aimodelsmap.count("/models/search")
    typo = {m.catalog: m for m in match_model(cfg, tmp_path / "snap", "cluade sonet")}["aimodelsmap"]
    assert (typo.entry_id, typo.method, typo.confidence) == ("claude-3-5-sonnet", "search", 0.5)
    assert "pin it with catalog.model_ids.aimodelsmap=claude-3-5-sonnet" in typo.note
    assert fakes.aimodelsmap.count("/models/search") == before + 1

    cfg.search_fallback = False
    plain = {m.catalog: m for m in match_model(cfg, tmp_path / "snap", "cluade sonet")}["aimodelsmap"]
    assert plain.entry_id is None and plain.method == "none"


def test_published_scores_travel_with_the_match(cfg, fakes, tmp_path):
    take_snapshot(cfg, tmp_path / "snap", echo=lambda _: None)
    results = {m.catalog: m for m in match_model(cfg, tmp_path / "snap", "gpt-4o",
                                                 explicit={"artificial_analysis": "5b0c3f0e-9a1e-4d8e-8f00-000000000040"})}
    aa = results["artificial_analysis"]
    assert aa.method == "explicit" and aa.published["critpt"] == {"key": "evaluations.critpt", "value": 0.014}
    assert results["llm_registry"].published["critpt"]["score"] == 1.4
    assert results["aimodelsmap"].published["rankings_reasoning"]["rank"] == 2


def test_skipped_catalog_is_unavailable_not_unmatched(cfg, fakes, tmp_path, monkeypatch):
    monkeypatch.delenv("OPENROUTER_API_KEY")
    take_snapshot(cfg, tmp_path / "snap", echo=lambda _: None)
    result = {m.catalog: m for m in match_model(cfg, tmp_path / "snap", "gpt-4o")}["openrouter"]
    assert result.method == "unavailable" and "skipped" in result.note


def test_a_model_listed_by_several_sources_keeps_each_sources_numbers(tmp_path):
    import json

    from critpt_harness.catalogs.openrouter import OpenRouterClient
    from critpt_harness.catalogs.stored import SnapshotFiles

    (tmp_path / "openrouter").mkdir()
    rows = [{"model_permaslug": "openai/gpt-4o", "display_name": "GPT-4o", "source": "artificial-analysis",
             "intelligence_index": 71.2},
            {"model_permaslug": "openai/gpt-4o", "display_name": "GPT-4o", "source": "design-arena", "elo": 1234}]
    (tmp_path / "openrouter" / "benchmarks.json").write_text(json.dumps({"response": {"data": rows}}))
    [cand] = OpenRouterClient.candidates(SnapshotFiles(tmp_path))
    assert cand.published["benchmarks:artificial-analysis"]["intelligence_index"] == 71.2
    assert cand.published["benchmarks:design-arena"]["elo"] == 1234
