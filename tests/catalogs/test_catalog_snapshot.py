"""Snapshots: files, index, attribution, cache hits with zero requests, missing
keys, failures isolated per API, no key on disk, and where `catalog` writes."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from critpt_harness.catalogs.snapshot import cmd_catalog, take_snapshot
from critpt_harness.runs import RunFolder

ATTRIBUTION_HOSTS = ("artificialanalysis.ai", "openrouter.ai", "llm-registry.com", "aimodelsmap.com")


def _all_text(*roots: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8", errors="replace")
                     for root in roots if root.exists() for p in root.rglob("*") if p.is_file())


def test_default_selection_is_written_with_provenance(cfg, fakes, tmp_path):
    out = tmp_path / "snap"
    index = take_snapshot(cfg, out, echo=lambda _: None)
    assert {api: s["status"] for api, s in index["apis"].items()} == {
        "artificial_analysis": "ok", "openrouter": "ok", "llm_registry": "ok", "aimodelsmap": "ok"}
    expected = {"artificial_analysis/llms_models.json", "openrouter/benchmarks.json", "llm_registry/meta.json",
                "llm_registry/models.json", "llm_registry/benchmarks.json", "llm_registry/scores.json",
                "llm_registry/leaderboard_all.json", "llm_registry/leaderboard_reasoning.json",
                "llm_registry/leaderboard_math.json", "aimodelsmap/categories.json", "aimodelsmap/models.json",
                "aimodelsmap/rankings_reasoning.json", "aimodelsmap/rankings_coding.json"}
    assert {str(p.relative_to(out)) for p in out.rglob("*.json")} == expected | {"index.json"}
    assert json.loads((out / "index.json").read_text()) == index

    envelope = json.loads((out / "artificial_analysis/llms_models.json").read_text())
    assert envelope["source_url"] == fakes.aa.base_url + "/data/llms/models"
    assert envelope["fetched_at"] and envelope["origin"] == {"network": 1}
    assert "artificialanalysis.ai" in envelope["attribution"]
    # The raw reply, unknown fields included, not a re-serialised model.
    assert envelope["response"]["data"][1]["x_unreleased"] == {"note": "a field no document mentions"}
    assert "median_time_to_first_answer_token" in envelope["response"]["data"][0]

    models = json.loads((out / "aimodelsmap/models.json").read_text())
    assert len(models["response"]["data"]) == 47 and len(models["pages"]) == 3
    registry = json.loads((out / "llm_registry/scores.json").read_text())
    assert registry["attribution"].count("artificialanalysis.ai") == 1
    assert all(any(h in a for a in index["attributions"]) for h in ATTRIBUTION_HOSTS)


def test_second_snapshot_within_cache_lifetime_makes_no_request(cfg, fakes, tmp_path):
    take_snapshot(cfg, tmp_path / "one", echo=lambda _: None)
    before = {name: fake.count() for name, fake in fakes.all.items()}
    assert all(before.values())
    lines = []
    index = take_snapshot(cfg, tmp_path / "two", echo=lines.append)
    assert {name: fake.count() for name, fake in fakes.all.items()} == before
    assert all(s["requests"] == 0 for s in index["apis"].values())
    assert any("0 HTTP requests" in line for line in lines)
    one = json.loads((tmp_path / "one/openrouter/benchmarks.json").read_text())
    two = json.loads((tmp_path / "two/openrouter/benchmarks.json").read_text())
    assert two["origin"] == {"cache": 1} and two["response"] == one["response"]
    assert two["fetched_at"] == one["fetched_at"]  # the time the data was really fetched


def test_expired_ttl_and_refresh_fetch_again(cfg, fakes, tmp_path):
    cfg.openrouter.cache_ttl_seconds = 0
    take_snapshot(cfg, tmp_path / "one", echo=lambda _: None)
    take_snapshot(cfg, tmp_path / "two", echo=lambda _: None)
    assert fakes.openrouter.count() == 2 and fakes.aa.count() == 1
    cfg.refresh = True
    take_snapshot(cfg, tmp_path / "three", echo=lambda _: None)
    assert fakes.aa.count() == 2
    # LLM Registry sends Last-Modified: a refresh costs 304s, not downloads.
    last = [r for r in fakes.llm_registry.requests][-7:]
    assert all("if-modified-since" in r.headers for r in last)
    assert json.loads((tmp_path / "three/llm_registry/meta.json").read_text())["origin"] == {"revalidated": 1}


def test_missing_key_skips_that_api_only(cfg, fakes, tmp_path, monkeypatch):
    monkeypatch.delenv("OPENROUTER_API_KEY")
    lines = []
    index = take_snapshot(cfg, tmp_path / "snap", echo=lines.append)
    assert index["apis"]["openrouter"]["status"] == "skipped"
    assert "OPENROUTER_API_KEY" in index["apis"]["openrouter"]["reason"]
    assert any("skipping OpenRouter" in line and "OPENROUTER_API_KEY" in line for line in lines)
    assert fakes.openrouter.count() == 0
    assert all(index["apis"][a]["status"] == "ok" for a in ("artificial_analysis", "llm_registry", "aimodelsmap"))
    assert not (tmp_path / "snap/openrouter").exists()


def test_failures_stay_inside_their_api(cfg, fakes, tmp_path, monkeypatch):
    monkeypatch.setenv("ARTIFICIAL_ANALYSIS_API_KEY", "revoked")
    cfg.aimodelsmap.ranking_categories = ["reasoning", "poetry"]
    cfg.llm_registry.endpoints = ["meta", "sitemap"]
    index = take_snapshot(cfg, tmp_path / "snap", echo=lambda _: None)
    aa = index["apis"]["artificial_analysis"]
    assert aa["status"] == "error" and "refused" in aa["errors"]["llms"]
    assert index["apis"]["openrouter"]["status"] == "ok"
    lr = index["apis"]["llm_registry"]
    assert lr["status"] == "partial" and "unknown endpoint" in lr["errors"]["sitemap"]
    amm = index["apis"]["aimodelsmap"]
    assert "rankings_reasoning" in amm["endpoints"] and "rankings_poetry" not in amm["endpoints"]
    assert any("poetry" in n for n in amm["notices"])
    assert fakes.aimodelsmap.count("/rankings/poetry") == 0  # checked against /categories, not guessed


def test_every_endpoint_can_be_snapshotted(cfg, fakes, tmp_path):
    cfg.artificial_analysis.endpoints = ["llms", "text-to-image", "image-editing", "text-to-speech",
                                         "text-to-video", "image-to-video"]
    cfg.openrouter.benchmark_queries = [{}, {"source": "design-arena", "arena": "models"}]
    cfg.llm_registry.endpoints = ["root", "meta", "models", "benchmarks", "scores", "leaderboards",
                                  "export_json", "export_csv"]
    cfg.aimodelsmap.endpoints = ["health", "pipelines", "categories", "models", "rankings", "history", "movers"]
    out = tmp_path / "snap"
    index = take_snapshot(cfg, out, echo=lambda _: None)
    assert all(s["status"] == "ok" for s in index["apis"].values()), index
    assert (out / "artificial_analysis/media_text-to-image.json").exists()
    media = json.loads((out / "artificial_analysis/media_text-to-video.json").read_text())
    assert media["response"]["include_categories"] is True
    assert (out / "openrouter/benchmarks__source-design-arena__arena-models.json").exists()
    assert (out / "llm_registry/export_csv.csv").read_text().startswith("modelId,")
    assert json.loads((out / "llm_registry/export_csv.json").read_text())["response_file"] == "export_csv.csv"
    assert (out / "aimodelsmap/rankings_coding_movers.json").exists()
    assert json.loads((out / "aimodelsmap/health.json").read_text())["response"]["status"] == "ok"


def test_keys_are_never_written(cfg, fakes, tmp_path):
    take_snapshot(cfg, tmp_path / "snap", echo=lambda _: None)
    text = _all_text(tmp_path / "snap", Path(cfg.cache_dir))
    assert text  # something was written
    for key in fakes.env().values():
        assert key not in text
    assert "***" not in text  # not even redacted: no key ever reached a writer


def test_default_cache_dir_comes_from_the_environment(fakes, tmp_path, monkeypatch):
    monkeypatch.setenv("CRITPT_HARNESS_CACHE", str(tmp_path / "env-cache"))
    cfg = fakes.config(tmp_path / "unused")
    cfg.cache_dir = None
    take_snapshot(cfg, tmp_path / "snap", echo=lambda _: None)
    assert list((tmp_path / "env-cache" / "catalogs" / "artificial_analysis").glob("*.json"))
    assert not (tmp_path / "unused").exists()


def test_cmd_catalog_writes_into_an_existing_run_and_matches_its_model(cfg, fakes, tmp_path):
    run = RunFolder(tmp_path / "runs" / "gpt-4o" / "r1")
    run.path.mkdir(parents=True)
    run.config_file.write_text(yaml.safe_dump({"model": {"name": "openai/gpt-4o", "provider": "openai_compatible",
                                                         "label": None}}))
    lines = []
    out = cmd_catalog(cfg, run, model_name="mock", echo=lines.append)  # the run's own model wins
    assert out == run.path / "catalog"
    matches = json.loads((out / "matches.json").read_text())
    assert matches["model"] == "openai/gpt-4o"
    got = {m["catalog"]: (m["entry_id"], m["method"]) for m in matches["matches"]}
    assert got["openrouter"] == ("openai/gpt-4o", "exact")
    assert got["aimodelsmap"] == ("gpt-4o", "exact")
    assert run.manifest()["catalog_snapshot"]["dir"] == "catalog"
    assert any("published CritPt: 0.014" in line for line in lines)
    assert any("credit:" in line for line in lines)


def test_cmd_catalog_without_a_run_uses_the_shared_dated_folder(cfg, fakes, tmp_path):
    lines = []
    out = cmd_catalog(cfg, None, model_name="mock", echo=lines.append)
    assert out.parent == Path(cfg.shared_dir) and len(out.name) == 10  # YYYY-MM-DD
    assert (out / "index.json").exists() and not (out / "matches.json").exists()
    assert any("mock model has no catalog entry" in line for line in lines)
    cmd_catalog(cfg, RunFolder(tmp_path / "not-a-run"), model_name="gpt-4o", echo=lines.append)
    assert (out / "matches.json").exists() and not (tmp_path / "not-a-run").exists()


def test_an_unexpected_shape_still_stores_the_raw_reply(cfg, fakes, tmp_path):
    fakes.aa.fail_next(200, body={"status": 200, "data": "under maintenance"})
    out = tmp_path / "snap"
    index = take_snapshot(cfg, out, echo=lambda _: None)
    aa = index["apis"]["artificial_analysis"]
    assert aa["status"] == "partial" and "documented shape" in aa["errors"]["llms"]
    envelope = json.loads((out / "artificial_analysis/llms.json").read_text())
    assert envelope["response"] == {"status": 200, "data": "under maintenance"}
    assert "documented shape" in envelope["schema_error"]
