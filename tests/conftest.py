"""Shared fixtures: problem sets, composed configs, and isolation from the
user's environment (cache dir, API keys). No network beyond 127.0.0.1.

Problem sets: ``public_dir`` and ``example_dir`` are synthetic stand-ins that
the tests write themselves (tests/synthetic.py), so the suite needs nothing
outside the repository. The few tests that are about the real CritPt files
(checksums, the real templates, a full run over the real set) take
``real_public_dir`` / ``real_example_dir`` and are skipped unless the data is
found at ``$CRITPT_DATA_DIR`` or ``../shared/critpt-data`` (a folder holding
``public/Challenge_N.json`` and ``example/``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest
from hydra import compose, initialize_config_module
from omegaconf import OmegaConf

from critpt_harness import config as config_module
from critpt_harness.generation import prompts
from critpt_harness.config import HarnessConfig

from .synthetic import write_example, write_public_set

REPO = Path(__file__).resolve().parents[1]
REAL_DATA = Path(os.environ.get("CRITPT_DATA_DIR") or REPO.parent / "shared" / "critpt-data")
REAL_PUBLIC = REAL_DATA / "public"
REAL_EXAMPLE = REAL_DATA / "example"
REAL_EXAMPLE_CHALLENGE = "quantum_error_correction"
HOW_TO_ENABLE = ("set CRITPT_DATA_DIR to a folder holding public/Challenge_N.json and example/ "
                 "(the CritPt repository's data/public_test_challenges/json and data/example_challenges/json)")
KEY_VARS = ("OPENAI_API_KEY", "ARTIFICIAL_ANALYSIS_API_KEY", "OPENROUTER_API_KEY", "TOGETHER_API_KEY",
            "DEEPSEEK_API_KEY", "AIMODELSMAP_API_KEY", "FAKE_LLM_KEY", "FAKE_GRADER_KEY")


@pytest.fixture(scope="session")
def public_dir(tmp_path_factory) -> Path:
    """The synthetic public set: Challenge_1.json ... Challenge_70.json (read-only: copy it to change it)."""
    return write_public_set(tmp_path_factory.mktemp("synthetic") / "public")


@pytest.fixture(scope="session")
def example_dir(tmp_path_factory) -> Path:
    """The synthetic example challenge (golden answers, three checkpoints); see EXAMPLE_CHALLENGE."""
    return write_example(tmp_path_factory.mktemp("synthetic") / "example")


@pytest.fixture(scope="session")
def real_public_dir() -> Path:
    """The real CritPt public set; the test is skipped without it."""
    if not (REAL_PUBLIC / "Challenge_1.json").exists():
        pytest.skip(f"needs the real CritPt data (not found at {REAL_PUBLIC}): {HOW_TO_ENABLE}")
    return REAL_PUBLIC


@pytest.fixture(scope="session")
def real_example_dir() -> Path:
    """The real published example challenge; the test is skipped without it."""
    if not (REAL_EXAMPLE / f"{REAL_EXAMPLE_CHALLENGE}.json").exists():
        pytest.skip(f"needs the real CritPt example challenge (not found at {REAL_EXAMPLE}): {HOW_TO_ENABLE}")
    return REAL_EXAMPLE


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Each test gets its own cache dir and working dir, no real API keys and no downloads."""
    monkeypatch.setenv("CRITPT_HARNESS_CACHE", str(tmp_path / "cache"))
    # Nothing is downloaded from the internet: the official prompt text is not fetched (the mock
    # model falls back to the own paraphrase; tests of other models pass prompts.source=own).
    monkeypatch.setenv("CRITPT_HARNESS_OFFLINE", "1")
    for var in KEY_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    yield
    prompts.activate(prompts.OWN)  # a command run in-process chose a prompt source: forget it


def make_config(*overrides: str) -> HarnessConfig:
    """Compose the real configs with overrides, as the CLI does."""
    config_module.register()
    with initialize_config_module(config_module="critpt_harness.configs", version_base="1.3"):
        cfg = compose(config_name="config", overrides=list(overrides))
    obj = OmegaConf.to_object(cfg)
    config_module.validate(obj)
    return obj


def run_cli(*args: str, env: dict | None = None, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `python -m critpt_harness ...` in a subprocess, as a user would."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "critpt_harness", *args], capture_output=True, text=True,
                          env=full_env, cwd=cwd, timeout=timeout)


CATALOGS = ("artificial_analysis", "openrouter", "llm_registry", "aimodelsmap")
NO_CATALOGS = [f"catalog.{api}.enabled=false" for api in CATALOGS]


def llm_overrides(url: str, run_dir: Path, *extra: str) -> List[str]:
    """A run against a fake LLM at ``url``; catalogs off unless a test points them at fakes; no preflight
    request (tests that count requests or inject faults would see it: test_fail_fast covers it)."""
    return ["model=openai_compatible", "model.name=fake-model", f"model.base_url={url}",
            "model.api_key_env=FAKE_LLM_KEY", f"run_dir={run_dir}", "prompts.source=own",
            "generation.retry.initial_wait=0.01",
            "generation.retry.max_wait=0.05", "generation.progress=false", "generation.preflight=false",
            *NO_CATALOGS, *extra]


# Run folders for the readers' tests (view, table, compare, tracking), made once per session.
from .reading_runs import graded_runs, official_runs  # noqa: E402,F401
