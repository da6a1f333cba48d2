"""A command line composed once is read back from the harness cache without Hydra: the same typed
config as Hydra's composition, composed anew whenever a config file, a schema or a version changes,
and never for Hydra's own flags or a sweep."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from critpt_harness import hydra_app
from critpt_harness.config import register

CASES = [
    ["command=run"],
    ["command=generate", "model=openai", "model.name=gpt-4o", "generation.epochs=2"],
    ["command=run", "experiment=gpt5_high_code"],
    ["command=run", "model=openai_compatible", "model.name=x", "model.base_url=http://localhost:8000/v1",
     "model.api_key_env=null", "+model.extra_body.top_k=20"],
    ["command=report", "report.runs=runs/*/*"],
    ["command=run", "dataset.ids=[Challenge_3_main,Challenge_7_main]", "sandbox.backend=subprocess",
     "generation=one_step"],
    ["command=view", "view.runs=['runs/a','runs/b']", "view.port=9000"],
    ["command=run", "model=openai_compatible"],  # model.name stays ??? (the task then refuses it)
]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CRITPT_HARNESS_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "compositions"


def _compose(overrides, cached: bool):
    got = []
    if cached:
        assert hydra_app.run_cached(hydra_app.composition_file(list(overrides)), got.append), overrides
    else:
        register()
        hydra_app.run_once(list(overrides), got.append, hydra_app.composition_file(list(overrides)))
    return got[0]


@pytest.mark.parametrize("overrides", CASES, ids=lambda o: " ".join(o)[:60])
def test_a_remembered_composition_is_the_one_hydra_makes(cache, overrides):
    assert not hydra_app.run_cached(hydra_app.composition_file(list(overrides)), lambda cfg: None)  # nothing remembered yet
    fresh = _compose(overrides, cached=False)
    assert len(list(cache.glob("*.json"))) == 1
    again = _compose(overrides, cached=True)
    assert OmegaConf.to_container(again, resolve=False) == OmegaConf.to_container(fresh, resolve=False)
    if OmegaConf.is_missing(fresh.model, "name"):
        assert OmegaConf.is_missing(again.model, "name")
        return
    a, b = OmegaConf.to_object(fresh), OmegaConf.to_object(again)
    a.run_dir = b.run_dir = "the folder"  # the default name is the start time, read at each start
    assert a == b and type(a) is type(b)


def test_the_key_changes_with_any_config_file_or_override(tmp_path):
    root = tmp_path / "configs"
    (root / "model").mkdir(parents=True)
    (root / "model" / "mine.yaml").write_text("name: a\n")
    key = hydra_app._composition_key(["command=run"], [root])
    assert hydra_app._composition_key(["command=run"], [root]) == key
    assert hydra_app._composition_key(["command=run", "model=mine"], [root]) != key
    (root / "model" / "mine.yaml").write_text("name: b\n")
    os.utime(root / "model" / "mine.yaml", ns=(1, 1))
    assert hydra_app._composition_key(["command=run"], [root]) != key
    (root / "model" / "new.yaml").write_text("name: c\n")
    assert len({key, hydra_app._composition_key(["command=run"], [root])}) == 2


def test_flags_sweeps_and_hydra_keys_are_never_remembered(cache):
    for overrides in (["command=run", "--cfg", "job"], ["command=run", "hydra.verbose=true"], ["-m", "command=run"]):
        assert hydra_app.composition_file(overrides) is None


def test_a_damaged_file_or_an_unwritable_cache_composes_anew(cache, tmp_path, monkeypatch):
    overrides = ["command=run", "generation.epochs=3"]
    _compose(overrides, cached=False)
    (kept,) = cache.glob("*.json")
    kept.write_text("{not json")
    assert not hydra_app.run_cached(hydra_app.composition_file(list(overrides)), lambda cfg: None)
    assert _compose(overrides, cached=False).generation.epochs == 3 and _compose(overrides, cached=True)
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache folder would be")
    monkeypatch.setenv("CRITPT_HARNESS_CACHE", str(blocked))
    assert _compose(overrides, cached=False).generation.epochs == 3  # nothing kept, no error
    assert not hydra_app.run_cached(hydra_app.composition_file(list(overrides)), lambda cfg: None)


def test_the_second_start_of_a_command_does_not_import_hydra(tmp_path):
    env = {**os.environ, "CRITPT_HARNESS_CACHE": str(tmp_path / "cache"), "CRITPT_HARNESS_OFFLINE": "1"}
    runs = []
    for _ in range(2):
        out = subprocess.run([sys.executable, "-X", "importtime", "-m", "critpt_harness", "data", "list"],
                             capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
        assert out.returncode == 0, out.stderr[-2000:]
        imported = {line.rsplit("|", 1)[-1].strip() for line in out.stderr.splitlines() if line.startswith("import time")}
        runs.append((out.stdout, imported))
    (first, first_imports), (second, second_imports) = runs
    assert "hydra" in first_imports and "hydra" not in second_imports
    assert first == second and "v1" in second
    assert list(Path(tmp_path / "cache" / "compositions").glob("*.json"))
