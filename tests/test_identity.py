"""A run's identity comes from the config schema: every field classified once,
resuming with any identity difference refused before any model call."""

from __future__ import annotations

import json
import logging
from types import SimpleNamespace

import pytest

from critpt_harness.config import identity
from critpt_harness.errors import ConfigError, RunFolderError
from critpt_harness.commands.generate import prepare_run
from critpt_harness.runfiles import read_jsonl
from critpt_harness.runs import RunFolder

from .conftest import make_config

PROBLEMS = SimpleNamespace(sha256="d" * 64, ids=["Challenge_1_main"], public=True, subset=False, full_size=None)


def test_every_config_field_is_classified_and_every_entry_names_a_field():
    paths = set(identity.schema_paths())
    leaves = set(identity.schema_paths(leaves=True))
    assert "generation.tools.sandbox.memory_mb" in leaves and "generation.tools" not in leaves
    unclassified = sorted(p for p in leaves if identity.classification(p) is None)
    assert not unclassified, f"classify these in critpt_harness/identity.py CLASSIFICATION: {unclassified}"
    stale = sorted(k for k in identity.CLASSIFICATION if k not in paths)
    assert not stale, f"CLASSIFICATION names fields the schema does not have: {stale}"


def _start(tmp_path, *overrides):
    run = RunFolder(tmp_path / "run")
    prepare_run(make_config(f"run_dir={run.path}", *overrides), run, PROBLEMS)
    return run


# Each setting that changes the answers but was missing from the old hand-kept list.
@pytest.mark.parametrize("first, second, key", [
    ("model.api=chat", "model.api=responses", "model.api"),
    ("model.reasoning_tokens=1000", "model.reasoning_tokens=5000", "model.reasoning_tokens"),
    ("model.reasoning_budget_style=anthropic", "model.reasoning_budget_style=gemini", "model.reasoning_budget_style"),
    ("model.reasoning_summary=null", "model.reasoning_summary=auto", "model.reasoning_summary"),
    ("model.max_tokens_param=max_tokens", "model.max_tokens_param=max_completion_tokens", "model.max_tokens_param"),
    ("model.web_search=auto", "model.web_search=none", "model.web_search"),
    ("generation.keep_reasoning=true", "generation.keep_reasoning=false", "generation.keep_reasoning"),
    ("generation.tools.max_calls=30", "generation.tools.max_calls=5", "generation.tools.max_calls"),
    ("generation.tools.sandbox.timeout=60", "generation.tools.sandbox.timeout=5", "generation.tools.sandbox.timeout"),
    ("generation.tools.sandbox.memory_mb=2048", "generation.tools.sandbox.memory_mb=512",
     "generation.tools.sandbox.memory_mb"),
])
def test_resuming_with_a_changed_identity_setting_is_refused_naming_it(tmp_path, first, second, key):
    run = _start(tmp_path, first)
    before = (run.config_file.read_text(), run.manifest())
    with pytest.raises(RunFolderError) as err:
        prepare_run(make_config(f"run_dir={run.path}", second), run, PROBLEMS)
    message = str(err.value)
    old, new = first.split("=", 1)[1], second.split("=", 1)[1]
    assert key in message and old in message and new in message
    assert f"resume.allow_changed=[{key}]" in message
    # nothing about the run was rewritten by the refused attempt
    assert (run.config_file.read_text(), run.manifest()) == before


def test_the_config_hash_tells_two_reasoning_budgets_apart(tmp_path):
    a = identity.config_hash(_resolved("model.reasoning_tokens=1000"))
    b = identity.config_hash(_resolved("model.reasoning_tokens=5000"))
    c = identity.config_hash(_resolved("model.reasoning_tokens=1000", "generation.concurrency=3", "model.request_timeout=5"))
    assert a != b and a == c


def _resolved(*overrides):
    from omegaconf import OmegaConf

    return OmegaConf.to_container(OmegaConf.structured(make_config(*overrides)), resolve=True)


def test_settings_that_do_not_change_answers_may_differ(tmp_path):
    run = _start(tmp_path, "generation.concurrency=4", "model.request_timeout=100", "generation.epochs=2")
    prepare_run(make_config(f"run_dir={run.path}", "generation.concurrency=9", "model.request_timeout=900",
                            "generation.epochs=5", "evaluator.dry_run=false"), run, PROBLEMS)
    assert "accepted_changes" not in run.manifest()


def test_a_changed_base_url_can_be_accepted_knowingly_and_is_recorded(tmp_path, caplog):
    run = _start(tmp_path, "model.base_url=http://127.0.0.1:8000/v1")
    with pytest.raises(RunFolderError, match="model.base_url"):
        prepare_run(make_config(f"run_dir={run.path}", "model.base_url=http://127.0.0.1:9000/v1"), run, PROBLEMS)
    with caplog.at_level(logging.WARNING):
        prepare_run(make_config(f"run_dir={run.path}", "model.base_url=http://127.0.0.1:9000/v1",
                                "resume.allow_changed=[model.base_url]"), run, PROBLEMS)
    changes = run.manifest()["accepted_changes"]
    assert [(c["key"], c["from"], c["to"]) for c in changes] == [
        ("model.base_url", "http://127.0.0.1:8000/v1", "http://127.0.0.1:9000/v1")]
    assert "model.base_url" in caplog.text
    # the knowing override covers only what it names
    with pytest.raises(RunFolderError, match="model.temperature"):
        prepare_run(make_config(f"run_dir={run.path}", "model.base_url=http://127.0.0.1:9000/v1",
                                "model.temperature=0.9", "resume.allow_changed=[model.base_url]"), run, PROBLEMS)


def test_allow_changed_must_name_an_identity_setting():
    with pytest.raises(ConfigError, match="generation.concurrency"):
        make_config("resume.allow_changed=[generation.concurrency]")


def test_a_setting_unknown_to_an_older_run_is_not_a_difference(tmp_path):
    run = _start(tmp_path)
    stored = run.stored_config()
    del stored["model"]["reasoning_summary"]
    run.write_config(stored)
    prepare_run(make_config(f"run_dir={run.path}", "model.reasoning_summary=auto"), run, PROBLEMS)


def test_records_holding_bytes_that_are_not_utf8_are_skipped_with_a_warning(tmp_path, caplog):
    path = tmp_path / "generations.jsonl"
    good = json.dumps({"problem_id": "Challenge_1_main", "epoch": 0})
    path.write_bytes(good.encode() + b"\n" + b'{"problem_id": "\xff\xfe"}\n' + good.encode() + b"\n")
    with caplog.at_level(logging.WARNING):
        rows = list(read_jsonl(path))
    assert len(rows) == 2 and "line 2 is not UTF-8" in caplog.text
