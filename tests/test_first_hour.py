"""A researcher's first hour (#24): a typo is never silently ignored, a failed start leaves nothing
behind, each command's help says what it reads, and `check` / `export-official` say what a user needs.
Every test runs a real command: the CLI in a subprocess, or its entry point / command function."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from critpt_harness.cli import main
from critpt_harness.commands import COMMANDS
from critpt_harness.commands import help as help_module
from critpt_harness.config import fields
from critpt_harness.hydra_app import config_groups
from critpt_harness.runs import RunFolder, latest_run, new_run_path
from tests.fakes.llm import FakeLLMServer

from .conftest import llm_overrides, run_cli
from .test_fail_fast import closed_port


def _no_runs(cwd: Path) -> None:
    assert not (cwd / "runs").exists(), sorted(str(p) for p in (cwd / "runs").rglob("*"))


# Config traps ---------------------------------------------------------------------------------------
def test_a_misspelt_key_is_refused_naming_the_right_one_and_nothing_is_created(public_dir, tmp_path):
    out = run_cli("run", "generation.epoch=3", f"dataset.path={public_dir}", cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    assert "generation.epoch is not a config key; the closest: generation.epochs" in out.stderr
    assert "+generation" not in out.stderr and "append" not in out.stderr.lower()  # never Hydra's + advice
    assert "Traceback" not in out.stderr
    _no_runs(tmp_path)


@pytest.mark.parametrize("typo, meant", [("model.temprature=0.3", "model.temperature"),
                                         ("genration.epochs=2", "generation.epochs"),
                                         ("evaluator.dryrun=false", "evaluator.dry_run")])
def test_typos_anywhere_in_the_schema_name_the_closest_key(typo, meant, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["generate", typo])
    assert stop.value.code == 2
    assert f"the closest: {meant}" in capsys.readouterr().err


@pytest.mark.parametrize("override, says", [
    ("generation.epochs=abc", "generation.epochs=abc: Value 'abc' of type 'str' could not be converted to "
                              "Integer. generation.epochs takes int; e.g. generation.epochs=5."),
    ("generation.progress=maybe", "generation.progress takes bool; e.g. generation.progress=true."),
])
def test_a_value_of_the_wrong_type_is_a_config_error_naming_the_key_and_its_type(override, says, public_dir,
                                                                                  tmp_path):
    out = run_cli("run", override, f"dataset.path={public_dir}", cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    assert out.stderr.startswith("error: ") and says in out.stderr
    assert "reference_type" not in out.stderr and "HYDRA_FULL_ERROR" not in out.stderr  # not Hydra's trace
    _no_runs(tmp_path)


def test_plus_adds_a_key_only_inside_an_open_mapping(public_dir, tmp_path):
    out = run_cli("run", "+generation.epoch=3", f"dataset.path={public_dir}", cwd=tmp_path)
    assert out.returncode == 2
    assert "generation.epoch is not a config key; the closest: generation.epochs" in out.stderr
    assert "adds a key only inside an open mapping (" in out.stderr and "model.extra_body" in out.stderr
    _no_runs(tmp_path)
    out = run_cli("run", "+generation.epochs=3", cwd=tmp_path)
    assert out.returncode == 2 and "set it without the +: generation.epochs=3" in out.stderr
    # inside the open mappings a key is added, with or without the +
    out = run_cli("run", "+model.extra_body.top_k=20", "model.extra_headers.X-Team=physics", "--cfg", "job",
                  cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    model = yaml.safe_load(out.stdout)["model"]
    assert model["extra_body"] == {"top_k": 20} and model["extra_headers"] == {"X-Team": "physics"}
    assert set(fields.open_mappings()) >= {"model.extra_body", "model.extra_headers", "model.serve.env"}


def test_a_nameless_openai_compatible_model_is_a_config_error_naming_model_name(public_dir, tmp_path):
    out = run_cli("generate", "model=openai_compatible", "model.base_url=http://127.0.0.1:9/v1",
                  "model.api_key_env=null", f"dataset.path={public_dir}", cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    assert out.stderr.startswith("error: model.name must be set") and "mock" not in out.stderr
    _no_runs(tmp_path)  # no runs/mock/ for a model that is not the mock


def test_model_schema_is_not_an_option(tmp_path):
    out = run_cli("run", "model=schema", cwd=tmp_path)
    assert out.returncode == 2
    assert "there is no model config 'schema'" in out.stderr and "openai_compatible" in out.stderr
    assert "schema" not in config_groups()["model"]
    assert "schema" not in run_cli("--help").stdout.split("config groups")[1]
    near = run_cli("run", "model=openai_compatable", cwd=tmp_path)
    assert near.returncode == 2 and "(the closest: openai_compatible" in near.stderr


def test_offline_the_message_names_the_problems_and_the_prompts_in_order(tmp_path):
    out = run_cli("run", cwd=tmp_path)  # CRITPT_HARNESS_OFFLINE=1 (conftest), nothing cached
    assert out.returncode == 2
    said = out.stderr
    assert "dataset.path=<clone>/data/public_test_challenges/json" in said
    assert said.index("dataset.path=") < said.index("prompts.path=<clone>/templates")
    _no_runs(tmp_path)


# A failed start leaves nothing ---------------------------------------------------------------------
def test_a_failed_preflight_leaves_no_folder_and_latest_unchanged(public_dir, tmp_path):
    small = (f"dataset.path={public_dir}", "dataset.limit=2", "generation.epochs=1", "generation.progress=false")
    assert run_cli("generate", *small, cwd=tmp_path).returncode == 0
    models = tmp_path / "runs" / "mock"
    finished = latest_run(models)
    assert finished is not None and (models / "latest").read_text().strip() == finished.name
    url = f"http://127.0.0.1:{closed_port()}/v1"
    # a real model that happens to be called "mock": its failed start must not move runs/mock/latest
    for name in ("mock", "other-model"):
        out = run_cli("run", "model=openai_compatible", f"model.name={name}", f"model.base_url={url}",
                      "model.api_key_env=null", "prompts=own", *small, cwd=tmp_path)
        assert out.returncode == 2 and "preflight" in out.stderr, out.stderr
        assert "had no answer yet and was removed" in out.stderr
    assert [p.name for p in models.iterdir() if p.is_dir()] == [finished.name]
    assert (models / "latest").read_text().strip() == finished.name
    assert not (tmp_path / "runs" / "other-model").exists()
    out = run_cli("check", "checks.execute=false", cwd=tmp_path)  # without run_dir: the finished run
    assert out.returncode == 0 and f"using runs/mock/{finished.name}" in out.stderr, out.stderr


def test_a_failed_start_in_a_given_new_folder_removes_it_but_never_a_run_with_records(public_dir, tmp_path):
    url = f"http://127.0.0.1:{closed_port()}/v1"
    args = ("model=openai_compatible", "model.name=m", f"model.base_url={url}", "model.api_key_env=null",
            "prompts=own", f"dataset.path={public_dir}", "dataset.limit=2", "generation.epochs=1")
    out = run_cli("generate", *args, "run_dir=new/deeper/run", cwd=tmp_path)
    assert out.returncode == 2 and not (tmp_path / "new").exists()
    with FakeLLMServer() as llm:  # a run with records, resumed against a host that is gone: kept as it was
        ok = run_cli("generate", *llm_overrides(llm.url, tmp_path / "kept", f"dataset.path={public_dir}",
                                                "dataset.limit=2", "generation.epochs=1"), env={"FAKE_LLM_KEY": "k"})
        assert ok.returncode == 0, ok.stderr
    before = (tmp_path / "kept" / "generations.jsonl").read_text()
    out = run_cli("generate", "model=openai_compatible", "model.name=fake-model", f"model.base_url={url}",
                  "model.api_key_env=null", "prompts.source=own", f"dataset.path={public_dir}", "dataset.limit=2",
                  "generation.epochs=2", "resume.allow_changed=[model.base_url]", f"run_dir={tmp_path / 'kept'}",
                  cwd=tmp_path)
    assert out.returncode == 2 and "preflight" in out.stderr, out.stderr
    assert (tmp_path / "kept" / "generations.jsonl").read_text() == before


def test_ctrl_c_before_the_first_answer_keeps_nothing(public_dir, tmp_path):
    import os
    import signal
    import time

    with FakeLLMServer(latency=30) as llm:  # the preflight waits: Ctrl-C arrives before any answer
        args = [sys.executable, "-m", "critpt_harness", "generate", "model=openai_compatible", "model.name=slow",
                f"model.base_url={llm.url}", "model.api_key_env=null", "prompts=own", f"dataset.path={public_dir}",
                "dataset.limit=1", "generation.epochs=1", "generation.progress=false"]
        proc = subprocess.Popen(args, cwd=tmp_path, env=os.environ.copy(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while not llm.requests and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        if not llm.requests:  # say why: the command ended early, or is stuck before its first request
            proc.kill()
            out, err = proc.communicate(timeout=60)
            raise AssertionError(f"the preflight request never came (exit {proc.returncode}):\n{out[-2000:]}\n{err[-3000:]}")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted before the first answer: nothing was kept" in err
    _no_runs(tmp_path)


def test_two_default_runs_started_at_once_get_two_folders(public_dir, tmp_path):
    import os

    args = [sys.executable, "-m", "critpt_harness", "generate", f"dataset.path={public_dir}", "dataset.limit=1",
            "generation.epochs=1", "generation.progress=false"]
    procs = [subprocess.Popen(args, cwd=tmp_path, env=os.environ.copy(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    folders = sorted(p.name for p in (tmp_path / "runs" / "mock").iterdir() if p.is_dir())
    assert len(folders) == 2
    for name in folders:  # sortable and readable: the local start time to the millisecond
        assert len(name.split("-")[0]) == 4 and "." in name and name.split(".")[1][:3].isdigit()
        assert len((tmp_path / "runs" / "mock" / name / "generations.jsonl").read_text().splitlines()) == 1
    # the same name asked twice (the same millisecond) is two folders: creation is atomic
    first, second = new_run_path(tmp_path / "x" / "t"), new_run_path(tmp_path / "x" / "t")
    assert (first.name, second.name) == ("t", "t-2") and sorted([second.name, first.name])[0] == "t"


def test_latest_names_only_runs_that_hold_records(tmp_path):
    for name in ("2026-01-01_00-00-00.000", "2026-01-02_00-00-00.000"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.yaml").write_text("{}")
    (tmp_path / "2026-01-01_00-00-00.000" / "generations.jsonl").write_text('{"problem_id": "x"}\n')
    (tmp_path / "latest").write_text("2026-01-02_00-00-00.000\n")  # as an older version left it
    assert latest_run(tmp_path) == tmp_path / "2026-01-01_00-00-00.000"
    assert not RunFolder(tmp_path / "2026-01-02_00-00-00.000").has_records()


# Each command's help --------------------------------------------------------------------------------
@pytest.mark.parametrize("command", COMMANDS, ids=[c.name for c in COMMANDS])
def test_each_commands_help_says_what_it_does_the_keys_it_reads_and_an_example(command, capsys):
    main([command.name, "--help"])
    text = capsys.readouterr().out
    assert text.startswith(f"usage: critpt-harness {command.name}")
    assert command.summary in " ".join(text.split())
    assert command.reads and command.example and f"  {command.example}" in text
    groups, joined = config_groups(), " ".join(text.split())
    for key in command.reads:
        assert any(x.startswith(f"  {key}") for x in text.splitlines()), key
        if key in groups:  # a config group: its choices
            assert f"{key}=<name> a config of configs/{key}/: {', '.join(groups[key])}" in joined
        else:  # one line from the schema's own doc of that key
            assert fields.doc(key), f"{key} has no doc comment in the schema"
            assert f"{key} {fields.summary(key, help_module.SUMMARY)}" in joined, key
    others = {k for c in COMMANDS for k in c.reads} - set(command.reads)
    assert not [k for k in others if f"\n  {k} " in text], "another command's keys"
    assert "== Config ==" not in text and len(text.splitlines()) < 80  # not Hydra's dump of the config


def test_run_help_is_answered_without_hydra_and_cfg_job_still_shows_the_config(tmp_path):
    code = ("import json, sys\nfrom critpt_harness.cli import main\nmain(['run', '--help'])\n"
            "print('MODULES=' + json.dumps(sorted(sys.modules)))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert out.returncode == 0, out.stderr
    import json

    loaded = set(json.loads(out.stdout.split("MODULES=")[1]))
    assert not {"hydra", "omegaconf", "pydantic", "openai"} & loaded
    full = run_cli("run", "--cfg", "job", cwd=tmp_path)
    assert full.returncode == 0 and "generation:" in full.stdout and "extra_body:" in full.stdout


# check and export-official --------------------------------------------------------------------------
@pytest.fixture
def failing_run(public_dir, tmp_path):
    """70 answers without code: every problem fails the checks (their reasons are what check shows)."""
    with FakeLLMServer(reply=lambda body: "I cannot write code today.") as llm:
        out = run_cli("generate", *llm_overrides(llm.url, tmp_path / "bad", f"dataset.path={public_dir}",
                                                 "generation.epochs=1"), env={"FAKE_LLM_KEY": "k"}, cwd=tmp_path)
        assert out.returncode == 0, out.stderr
    return tmp_path / "bad"


def test_check_lists_reasons_by_problem_and_all_of_them_with_all(failing_run, tmp_path):
    out = run_cli("check", f"run_dir={failing_run}", "checks.execute=false", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    reasons = [x.split(":")[0].strip() for x in out.stdout.splitlines() if x.startswith("    Challenge_")]
    assert reasons == [f"Challenge_{i}_main" for i in range(1, 9)]
    assert f"... 62 more: `critpt-harness check run_dir={failing_run} --all` lists every one" in out.stdout
    every = run_cli("check", f"run_dir={failing_run}", "checks.execute=false", "--all", cwd=tmp_path)
    assert every.returncode == 0, every.stderr
    reasons = [x.split(":")[0].strip() for x in every.stdout.splitlines() if x.startswith("    Challenge_")]
    assert reasons == [f"Challenge_{i}_main" for i in range(1, 71)] and "more:" not in every.stdout


def test_export_official_prints_absolute_paths(public_dir, tmp_path):
    common = (f"dataset.path={public_dir}", "generation.epochs=1", "generation.progress=false",
              "checks.execute=false", "run_dir=runs/mine")
    assert run_cli("generate", *common, cwd=tmp_path).returncode == 0
    assert run_cli("assemble", *common, cwd=tmp_path).returncode == 0
    out = run_cli("export-official", "run_dir=runs/mine", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    command = next(x for x in out.stdout.splitlines() if "evaluate_all_results.py" in x).split()
    results, output = Path(command[command.index("--results-dir") + 1]), Path(command[command.index("--output-dir") + 1])
    assert results.is_absolute() and output.is_absolute()
    assert results == (tmp_path / "runs" / "mine" / "official" / "epoch_0").resolve() and results.is_dir()
