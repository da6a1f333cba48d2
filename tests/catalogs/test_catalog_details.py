"""Catalog edges: a spent quota stops asking, a re-taken snapshot leaves nothing stale,
health and /categories are asked once, undocumented 4xx get fitting advice, and the
command fails (non-zero) when nothing could be fetched and says where it wrote."""

from __future__ import annotations

import socket

import pytest

from critpt_harness.catalogs.errors import CatalogError
from critpt_harness.catalogs.snapshot import cmd_catalog, take_snapshot
from critpt_harness.runs import RunFolder

quiet = dict(echo=lambda _: None)


def test_after_a_long_quota_429_no_further_request_goes_to_that_api(cfg, fakes, tmp_path):
    fakes.llm_registry.fail_next(429, headers={"Retry-After": "7200"})
    index = take_snapshot(cfg, tmp_path / "snap", **quiet)
    registry = index["apis"]["llm_registry"]
    assert fakes.llm_registry.count() == 1 and registry["requests"] == 1
    errors = list(registry["errors"].values())
    assert len(errors) == len(cfg.llm_registry.endpoints) and "rate limit" in errors[0]
    assert all("not asked, after an earlier rate limit" in e for e in errors[1:])
    assert index["apis"]["openrouter"]["status"] == "ok"  # other APIs are not affected


def test_a_later_snapshot_the_same_day_leaves_no_file_of_the_earlier_one(cfg, fakes, tmp_path):
    out = tmp_path / "shared" / "2026-12-01"
    cfg.aimodelsmap.endpoints = ["health", "categories"]
    take_snapshot(cfg, out, **quiet)
    assert (out / "aimodelsmap" / "health.json").exists()
    cfg.aimodelsmap.endpoints = ["categories"]
    index = take_snapshot(cfg, out, **quiet)
    written = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    listed = {e["file"] for s in index["apis"].values() for e in s["endpoints"].values()} | {"index.json"}
    assert written == listed and "aimodelsmap/health.json" not in written
    assert [p.name for p in out.parent.iterdir()] == ["2026-12-01"]  # no staging folders left


def test_health_endpoints_are_cached_and_categories_asked_once(cfg, fakes, tmp_path):
    cfg.aimodelsmap.endpoints = ["health", "pipelines", "categories", "rankings", "history", "movers"]
    take_snapshot(cfg, tmp_path / "one", **quiet)
    assert fakes.aimodelsmap.count("/categories") == 1
    before = fakes.aimodelsmap.count()
    index = take_snapshot(cfg, tmp_path / "two", **quiet)
    assert fakes.aimodelsmap.count() == before and index["apis"]["aimodelsmap"]["requests"] == 0


def test_an_undocumented_4xx_is_not_called_a_passing_failure(cfg, fakes, tmp_path):
    fakes.openrouter.fail_next(405, times=3)
    index = take_snapshot(cfg, tmp_path / "snap", **quiet)
    (error,) = index["apis"]["openrouter"]["errors"].values()
    assert "HTTP 405" in error and "undocumented status" in error and "try again later" not in error
    assert fakes.openrouter.count() == 1  # not retried


def test_catalog_fails_when_no_api_could_be_fetched(cfg, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    for api in ("artificial_analysis", "openrouter", "llm_registry", "aimodelsmap"):
        getattr(cfg, api).base_url = dead
    cfg.aimodelsmap.health_base_url = dead
    with pytest.raises(CatalogError, match="no API could be fetched"):
        cmd_catalog(cfg, None, model_name="gpt-4o", **quiet)


def test_a_folder_that_is_not_a_run_gets_a_word_on_where_the_snapshot_went(cfg, fakes, tmp_path):
    folder = tmp_path / "notes"
    folder.mkdir()
    lines: list = []
    out = cmd_catalog(cfg, RunFolder(folder), model_name="gpt-4o", echo=lines.append)
    assert out.parent == tmp_path / "shared" and not (folder / "catalog").exists()
    assert any(f"run_dir {folder} is not a run folder (no config.yaml): the snapshot goes to {out}" in line
               for line in lines)
