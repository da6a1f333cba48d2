"""Start-up: the config is composed once, commands import only what they use, and the
shortcuts taken for speed give the same results as the long way round
(benchmarks/startup.py measures the times)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest
import yaml
from omegaconf import OmegaConf

from critpt_harness.contracts import GenerationRecord
from critpt_harness.generation.records import latest_records, record_statuses
from critpt_harness.runs import RunFolder

from .conftest import make_config

REPO = Path(__file__).resolve().parents[1]


def _modules_after(args: List[str], cwd: Path) -> set:
    """The modules loaded by the end of `critpt-harness <args>`, run in a fresh interpreter."""
    code = ("import json, sys\nfrom critpt_harness.cli import main\n"
            f"main({args!r})\nprint('MODULES=' + json.dumps(sorted(sys.modules)))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, timeout=120)
    assert out.returncode == 0, out.stderr
    line = next(x for x in out.stdout.splitlines() if x.startswith("MODULES="))
    return set(json.loads(line[len("MODULES="):]))


def test_help_and_version_answer_without_importing_hydra(tmp_path):
    for args in (["--help"], [], ["--version"]):
        loaded = _modules_after(args, tmp_path)
        assert not {"hydra", "omegaconf", "pydantic", "openai", "huggingface_hub", "pyarrow"} & loaded, args


def test_commands_that_call_no_model_do_not_import_the_openai_sdk(public_dir, tmp_path):
    run_dir = tmp_path / "run"
    common = [f"dataset.path={public_dir}", "generation.epochs=1", "generation.progress=false",
              "catalog.enabled=false", f"run_dir={run_dir}"]
    # the offline mock model, a resume of the finished run, and a report: no SDK, no sandbox, no grading
    for args in (["generate", *common], ["generate", *common], ["assemble", f"run_dir={run_dir}",
                                                                "checks.execute=false"],
                 ["report", f"run_dir={run_dir}", "catalog.enabled=false", "report.plot=false"]):
        loaded = _modules_after(args, tmp_path)
        assert "openai" not in loaded, args
        assert not {"huggingface_hub", "pyarrow"} & loaded, args  # only a Hugging Face set loads them
        assert not {"critpt_harness.grading.local", "critpt_harness.grading.server",
                    "critpt_harness.catalogs.snapshot"} & loaded, args
    assert "critpt_harness.report.command" not in _modules_after(["generate", *common], tmp_path)


def test_the_one_compose_path_gives_the_config_hydra_main_gives(public_dir, tmp_path):
    # plain overrides take the single-compose path; a Hydra flag (-r: run mode, the default) goes
    # through hydra.main: both must write the same config.yaml
    written = []
    for name, flag in (("fast", []), ("hydra", ["-r"])):
        run_dir = tmp_path / name
        out = subprocess.run([sys.executable, "-m", "critpt_harness", "generate", *flag, f"dataset.path={public_dir}",
                              "generation.epochs=1", "generation.progress=false", "model.name=some/model",
                              "tags=[a]", f"run_dir={run_dir}"], capture_output=True, text=True, cwd=tmp_path,
                             timeout=120)
        assert out.returncode == 0, out.stderr
        cfg = yaml.safe_load((run_dir / "config.yaml").read_text())
        assert cfg.pop("run_dir") == str(run_dir)
        written.append(cfg)
    assert written[0] == written[1]
    # a bad override is refused before either path composes anything (tests/test_first_hour.py)
    for flag in ([], ["-r"]):
        bad = subprocess.run([sys.executable, "-m", "critpt_harness", "generate", *flag, "model.nosuchkey=1"],
                             capture_output=True, text=True, cwd=tmp_path, timeout=120)
        assert bad.returncode == 2 and "model.nosuchkey is not a config key" in bad.stderr, bad.stderr


@pytest.mark.parametrize("overrides", [[], ["experiment=gpt5_high_code_web"], ["experiment=claude_opus4"],
                                       ["model=openrouter", "generation=one_step"]])
def test_the_stored_config_is_what_an_omegaconf_round_trip_gives(overrides):
    cfg = make_config(*overrides)
    slow = OmegaConf.to_container(OmegaConf.structured(cfg), resolve=True)
    fast = dataclasses.asdict(cfg)
    assert json.dumps(fast, sort_keys=True) == json.dumps(slow, sort_keys=True)


def _record(pid: str, epoch: int, status: str) -> dict:
    return GenerationRecord(problem_id=pid, epoch=epoch, status=status, model="m", parsing=False,
                            started_at="t", finished_at="t", duration_s=1.0).model_dump(mode="json")


def test_record_statuses_agree_with_latest_records(tmp_path):
    run = RunFolder(tmp_path / "run")
    run.path.mkdir()
    lines = [
        _record("A", 0, "failed"), _record("A", 0, "ok"),    # a retry that worked
        _record("B", 0, "ok"), _record("B", 0, "failed"),    # an ok answer wins over a later failure
        _record("C", 1, "failed"),
        {**_record("D", 0, "ok"), "epoch": "2"},             # not the exact type: validated in full (lax)
        {**_record("E", 0, "ok"), "status": "done"},         # does not match the schema: skipped
        {k: v for k, v in _record("F", 0, "ok").items() if k != "model"},  # a required field missing
        {**_record("G", 0, "ok"), "duration_s": 3},          # an int where a float is asked: fine either way
    ]
    text = "".join(json.dumps(x) + "\n" for x in lines) + '{"problem_id": "H", "ep'  # a torn last line
    run.generations_file.write_text(text)
    statuses = record_statuses(run)
    assert statuses == {k: r.status for k, r in latest_records(run).items()}
    assert statuses == {("A", 0): "ok", ("B", 0): "ok", ("C", 1): "failed", ("D", 2): "ok", ("G", 0): "ok"}
