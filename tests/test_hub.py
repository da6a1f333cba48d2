"""The Hugging Face source against a fake Hub on 127.0.0.1 (HF_ENDPOINT), through the real
huggingface_hub and pyarrow, each load in a fresh process so the library reads HF_* as a user's
process would: a pinned revision, a branch resolved once, the cache serving HF_HUB_OFFLINE=1 with
no server, checksum, id and revision faults, a connection dropped mid-file, and `data pull` then
`run` with the network off."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import pytest

from .conftest import run_cli
from .fakes.hub import FakeHub
from .synthetic import parquet_of, write_version_file

pytest.importorskip("huggingface_hub")
pytest.importorskip("pyarrow")

REPO_ID = "CritPt-Benchmark/CritPt"
FILE = "data/train-00000-of-00001.parquet"
COMMIT = "1" * 40
OTHER = "2" * 40

LOAD = """
import json, sys
from critpt_harness.config import DatasetConfig
from critpt_harness.data.sets import load_problems
from critpt_harness.errors import HarnessError
try:
    ps = load_problems(DatasetConfig(**json.loads(sys.argv[1])))
except HarnessError as exc:
    print(json.dumps({"error": str(exc)}))
else:
    o = ps.origin
    print(json.dumps({"n": len(ps), "sha256": ps.sha256, "revision": o.revision, "requested": o.requested,
                      "verified": o.verified, "differ": list(o.differ), "version": o.version}))
"""


@pytest.fixture
def hub_env(public_dir, tmp_path):
    """A version (v9) describing the synthetic set, and an empty Hugging Face home."""
    write_version_file(tmp_path / "versions", "v9", public_dir)
    return {"CRITPT_HARNESS_VERSIONS": str(tmp_path / "versions"), "HF_HOME": str(tmp_path / "hf"),
            "HF_HUB_DISABLE_TELEMETRY": "1", "HF_HUB_OFFLINE": "0"}


def load(env, **cfg):
    out = subprocess.run([sys.executable, "-c", LOAD, json.dumps({"version": "v9", "source": "huggingface", **cfg})],
                         capture_output=True, text=True, env={**__import__("os").environ, **env}, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def serve(public_dir, edit=None, refs=None):
    return FakeHub(REPO_ID, {COMMIT: {FILE: parquet_of(public_dir)}, OTHER: {FILE: parquet_of(public_dir, edit)}},
                   refs or {"main": COMMIT})


def test_a_pinned_revision_downloads_verifies_and_then_serves_offline_from_the_cache(public_dir, hub_env):
    with serve(public_dir) as hub:
        env = {**hub_env, "HF_ENDPOINT": hub.endpoint}
        first = load(env, revision="main")
        files = [r for r in hub.requests if r.path.endswith(FILE)]
    assert first["n"] == 70 and first["verified"] is True and first["version"] == "v9"
    assert first["revision"] == COMMIT and first["requested"] == "main"  # the branch resolved once, its hash kept
    assert [r.method for r in files] == ["HEAD", "HEAD", "GET"]
    assert not any("xet" in k for r in files for k in r.headers)  # the plain HTTP path
    # The server is gone and the Hub is switched off: huggingface_hub's cache alone serves it.
    again = load({**env, "HF_HUB_OFFLINE": "1"}, revision=COMMIT)
    assert again["sha256"] == first["sha256"] and again["verified"] is True


def test_a_problem_whose_text_differs_is_refused_naming_it_and_the_revision(public_dir, hub_env):
    def edit(rows):
        rows[4]["problem_description"] += " (edited)"

    with serve(public_dir, edit) as hub:
        env = {**hub_env, "HF_ENDPOINT": hub.endpoint}
        refused = load(env, revision=OTHER)
        accepted = load(env, revision=OTHER, verify=False)
    assert f"at revision {OTHER}: 1 problem(s) differ from CritPt v9 (Challenge_5_main" in refused["error"]
    assert "dataset.verify=false" in refused["error"]
    assert accepted["verified"] is False and accepted["differ"] == ["Challenge_5_main"]


def test_a_revision_with_an_extra_and_a_missing_id_is_refused(public_dir, hub_env):
    def edit(rows):
        rows[-1]["problem_id"] = "Challenge_71_main"

    with serve(public_dir, edit) as hub:
        error = load({**hub_env, "HF_ENDPOINT": hub.endpoint}, revision=OTHER)["error"]
    assert f"Hugging Face dataset {REPO_ID} at revision {OTHER} does not hold the 70 problems of CritPt v9" in error
    assert "missing 1: Challenge_70_main; not in CritPt v9 1: Challenge_71_main" in error


def test_an_unknown_revision_is_a_clear_404(public_dir, hub_env):
    with serve(public_dir) as hub:
        error = load({**hub_env, "HF_ENDPOINT": hub.endpoint}, revision="no-such-branch")["error"]
    assert f"Hugging Face dataset {REPO_ID} at revision no-such-branch" in error and "no such revision (HTTP 404)" in error


def test_a_connection_dropped_mid_file_is_retried_and_leaves_no_torn_file(public_dir, hub_env, tmp_path):
    with serve(public_dir) as hub:
        hub.drop_mid_file = 1
        got = load({**hub_env, "HF_ENDPOINT": hub.endpoint}, revision=COMMIT)
        gets = [r for r in hub.requests if r.method == "GET" and r.path.endswith(FILE)]
    assert got["verified"] is True and len(gets) == 2
    cache = tmp_path / "hf" / "hub"
    assert not list(cache.rglob("*.incomplete"))
    blobs = [p for p in cache.rglob("blobs/*") if p.is_file()]
    assert [hashlib.sha256(p.read_bytes()).hexdigest() for p in blobs] == [
        hashlib.sha256(parquet_of(public_dir)).hexdigest()]


def test_offline_without_the_file_in_the_cache_says_what_to_do(public_dir, hub_env):
    error = load({**hub_env, "HF_HUB_OFFLINE": "1", "HF_ENDPOINT": "http://127.0.0.1:9"}, revision=COMMIT)["error"]
    assert "is not in the Hugging Face cache" in error and "HF_HUB_OFFLINE is set" in error
    assert "critpt-harness data pull dataset.source=huggingface" in error


def test_without_the_extra_the_error_names_it(monkeypatch):
    from critpt_harness.data import parquet
    from critpt_harness.errors import DatasetError

    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if it were not installed
    with pytest.raises(DatasetError, match=r'needs huggingface_hub and pyarrow .*pip install "critpt-harness\[huggingface\]"'):
        parquet.require()


def test_data_pull_then_a_run_with_the_network_off(public_dir, hub_env, tmp_path):
    with serve(public_dir) as hub:
        pulled = run_cli("data", "pull", "dataset.version=v9", "dataset.source=huggingface", "dataset.revision=main",
                         "data.prompts=false", env={**hub_env, "HF_ENDPOINT": hub.endpoint})
    assert pulled.returncode == 0, pulled.stderr[-2000:]
    line = pulled.stdout.strip().splitlines()[-1].strip()
    assert line.startswith("HF_HUB_CACHE=") and " HF_HUB_OFFLINE=1 CRITPT_HARNESS_OFFLINE=1 critpt-harness run " in line
    assert f"dataset.revision={COMMIT}" in line and "dataset.version=v9" in line
    env_part, args = line.split(" critpt-harness run ")
    node_env = dict(kv.split("=", 1) for kv in env_part.split())
    # The hub is stopped, no endpoint answers: the node has only what was pulled.
    ran = run_cli("run", *args.split(), "prompts=own", "generation.epochs=1", "generation.progress=false",
                  "checks.execute=false", f"run_dir={tmp_path / 'node-run'}",
                  env={**hub_env, **node_env, "HF_ENDPOINT": "http://127.0.0.1:9"})
    assert ran.returncode == 0, ran.stderr[-3000:]
    manifest = json.loads((tmp_path / "node-run" / "manifest.json").read_text())
    assert manifest["dataset"]["source"] == "huggingface" and manifest["dataset"]["revision"] == COMMIT
    assert manifest["dataset"]["version"] == "v9" and manifest["dataset"]["verified"] is True
    report = (tmp_path / "node-run" / "report.md").read_text()
    assert "CritPt v9" in report


def test_data_list_shows_what_the_hugging_face_cache_holds(public_dir, hub_env):
    with serve(public_dir) as hub:
        load({**hub_env, "HF_ENDPOINT": hub.endpoint}, revision="main")
    listed = run_cli("data", "list", env=hub_env)
    assert listed.returncode == 0, listed.stderr[-2000:]
    assert f"cached: Hugging Face {REPO_ID} at {COMMIT}: 70 problems, verified as CritPt v9" in listed.stdout
    assert "v9   CritPt v9 (synthetic) (70 problems;" in listed.stdout


def test_the_parquet_folder_written_by_data_pull_loads_as_a_path(public_dir, hub_env, tmp_path):
    with serve(public_dir) as hub:
        pulled = run_cli("data", "pull", "dataset.version=v9", "dataset.source=huggingface", f"dataset.revision={COMMIT}",
                         "data.prompts=false", f"data.dir={tmp_path / 'shared'}",
                         env={**hub_env, "HF_ENDPOINT": hub.endpoint})
    assert pulled.returncode == 0, pulled.stderr[-2000:]
    folder = tmp_path / "shared" / "critpt-v9"
    assert sorted(p.name for p in folder.iterdir()) == ["critpt-source.json", "train-00000-of-00001.parquet"]
    assert pulled.stdout.strip().splitlines()[-1].strip() == (
        f"CRITPT_HARNESS_OFFLINE=1 critpt-harness run dataset.version=v9 dataset.path={folder}")
    got = load(hub_env, source="path", path=str(folder))
    assert got["verified"] is True and got["revision"] == COMMIT and got["n"] == 70
