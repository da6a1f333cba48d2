"""The command line end to end, as a user runs it (subprocesses, loopback only)."""

import shutil
from pathlib import Path

import pytest

from critpt_harness.runfiles import read_json, read_jsonl
from tests.fakes.grader import FakeGrader
from tests.fakes.llm import FakeLLMServer

from .conftest import llm_overrides, run_cli

LLM_KEY = "sk-llm-SECRET-5f3a9c1e7d"
GRADER_KEY = "aa-grader-SECRET-0b8e2d4f6a"


def test_offline_default_run_end_to_end(public_dir, tmp_path):
    assert_offline_run(public_dir, tmp_path)


def test_offline_default_run_over_the_real_set(real_public_dir, tmp_path):
    """The same full mock run over the real CritPt files."""
    assert_offline_run(real_public_dir, tmp_path)


def assert_offline_run(public_dir, tmp_path):
    run_dir = tmp_path / "run"
    out = run_cli("run", f"dataset.path={public_dir}", f"run_dir={run_dir}", "generation.epochs=2")
    assert out.returncode == 0, out.stderr
    assert "dry run" in out.stdout
    records = list(read_jsonl(run_dir / "generations.jsonl"))
    assert len(records) == 140 and all(r["status"] == "ok" for r in records)
    for epoch in (0, 1):
        batch = read_json(run_dir / "batches" / f"epoch_{epoch}.json")
        assert sorted(s["problem_id"] for s in batch["submissions"]) == sorted(f"Challenge_{n}_main" for n in range(1, 71))
        assert read_json(run_dir / "requests" / f"epoch_{epoch}.request.json")["method"] == "POST"
    manifest = read_json(run_dir / "manifest.json")
    assert manifest["dataset_sha256"] and manifest["prompt_hash"] and manifest["packages"]["openai"]
    assert [c["command"] for c in manifest["commands"]] == ["run"]
    assert not (run_dir / "submissions.jsonl").exists()
    checks = read_json(run_dir / "batches" / "epoch_0.checks.json")
    assert checks["not_executable"] == ["Challenge_20_main", "Challenge_45_main", "Challenge_62_main"]
    assert checks["passed_per_check"]["executes"] == 67 and checks["passed_all"] == 70


def test_default_run_downloads_nothing_when_given_a_path_and_runs_as_module(public_dir, tmp_path):
    # `critpt-harness` (console script) and `python -m critpt_harness` are the same entry point
    exe = shutil.which("critpt-harness")
    assert exe is not None
    out = run_cli("--help")
    assert out.returncode == 0 and "usage: critpt-harness" in out.stdout


def test_real_pipeline_against_fake_llm_and_grader_keeps_keys_out_of_the_run(public_dir, tmp_path):
    run_dir = tmp_path / "run"
    env = {"FAKE_LLM_KEY": LLM_KEY, "FAKE_GRADER_KEY": GRADER_KEY}
    with FakeLLMServer() as llm, FakeGrader(api_key=GRADER_KEY) as grader:
        grader.grade = lambda s: s["problem_id"].endswith(("1_main", "2_main"))
        args = llm_overrides(llm.url, run_dir, f"dataset.path={public_dir}", "generation.epochs=1",
                             f"evaluator.url={grader.url}", "evaluator.api_key_env=FAKE_GRADER_KEY",
                             "evaluator.dry_run=false", f"evaluator.ledger_path={tmp_path / 'ledger.jsonl'}")
        out = run_cli("run", *args, env=env)
        assert out.returncode == 0, out.stderr
        assert len(grader.requests) == 1 and grader.requests[0].headers["x-api-key"] == GRADER_KEY
        assert llm.requests[0].headers["authorization"] == f"Bearer {LLM_KEY}"
        # a second `submit` finds the batch in the ledger and posts nothing
        again = run_cli("submit", f"run_dir={run_dir}", *args[-4:], env=env)
        assert again.returncode == 0, again.stderr
        assert len(grader.requests) == 1 and "already graded" in again.stdout
    results = read_json(run_dir / "results.json")
    expected = sum(1 for n in range(1, 71) if str(n).endswith(("1", "2"))) / 70
    assert results["epochs"]["0"]["accuracy"] == expected
    assert results["summary"]["mean_accuracy"] == expected
    assert f"{100 * expected:.2f}%" in out.stdout
    for path in run_dir.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            assert LLM_KEY not in text and GRADER_KEY not in text, path
    assert "FAKE_LLM_KEY" in (run_dir / "config.yaml").read_text()  # the variable name, not its value


def test_resuming_with_different_settings_is_refused(public_dir, tmp_path):
    run_dir = tmp_path / "run"
    assert run_cli("generate", f"dataset.path={public_dir}", f"run_dir={run_dir}", "generation.epochs=1").returncode == 0
    out = run_cli("generate", f"dataset.path={public_dir}", f"run_dir={run_dir}", "generation.epochs=1",
                  "generation=one_step")
    assert out.returncode == 2
    assert "generation.parsing: false -> true" in out.stderr
    # more epochs on the same settings continue the run
    more = run_cli("generate", f"dataset.path={public_dir}", f"run_dir={run_dir}", "generation.epochs=2")
    assert more.returncode == 0, more.stderr
    assert len(list(read_jsonl(run_dir / "generations.jsonl"))) == 140


def test_submit_on_a_missing_run_folder_says_what_to_do(tmp_path):
    out = run_cli("submit", f"run_dir={tmp_path / 'nope'}")
    assert out.returncode == 2 and "not a run folder" in out.stderr
    assert not (tmp_path / "nope").exists()


def test_an_incomplete_run_is_not_submitted(public_dir, tmp_path):
    run_dir = tmp_path / "run"
    env = {"FAKE_LLM_KEY": "k", "FAKE_GRADER_KEY": "g"}
    with FakeLLMServer() as llm, FakeGrader(api_key="g") as grader:
        from tests.fakes.base import Fault
        llm.inject(*[Fault(400, body={"error": {"message": "context too long"}})])
        args = llm_overrides(llm.url, run_dir, f"dataset.path={public_dir}", "generation.epochs=1",
                             f"evaluator.url={grader.url}", "evaluator.api_key_env=FAKE_GRADER_KEY",
                             "evaluator.dry_run=false", f"evaluator.ledger_path={tmp_path / 'ledger.jsonl'}",
                             "generation.concurrency=1")
        out = run_cli("run", *args, env=env)
        assert out.returncode == 2
        assert "missing: Challenge_1_main" in out.stderr and "generate" in out.stderr
        assert grader.requests == []
        # re-running retries the failed item and then submits
        out = run_cli("run", *args, env=env)
        assert out.returncode == 0, out.stderr
        assert len(grader.requests) == 1


def test_a_sweep_gives_each_job_its_own_run_folder(public_dir, tmp_path):
    out = run_cli("-m", "generate", f"dataset.path={public_dir}", "generation.epochs=1",
                  "generation=two_step,one_step", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    folders = sorted(f for f in (tmp_path / "runs" / "mock").iterdir() if f.is_dir())  # beside them: `latest`
    # named after what varies, not _0/_1
    assert sorted(f.name.split("_", 2)[-1] for f in folders) == ["generation-one_step", "generation-two_step"]
    parsing = {read_json(f / "manifest.json")["config_hash"] for f in folders}
    assert len(parsing) == 2


def _at_fake_catalogs(fakes) -> list:
    """Overrides that turn every catalog API on and point it at its fake."""
    bases = {"artificial_analysis": fakes.aa, "openrouter": fakes.openrouter,
             "llm_registry": fakes.llm_registry, "aimodelsmap": fakes.aimodelsmap}
    return [o for api, fake in bases.items()
            for o in (f"catalog.{api}.enabled=true", f"catalog.{api}.base_url={fake.base_url}")]


def test_run_takes_a_catalog_snapshot_after_grading(public_dir, tmp_path):
    from tests.fakes.catalogs import FakeCatalogs

    run_dir = tmp_path / "run"
    with FakeLLMServer() as llm, FakeGrader(api_key=GRADER_KEY) as grader, FakeCatalogs() as fakes:
        env = {"FAKE_LLM_KEY": LLM_KEY, "FAKE_GRADER_KEY": GRADER_KEY, **fakes.env()}
        catalog = _at_fake_catalogs(fakes) + [f"catalog.cache_dir={tmp_path / 'catalog-cache'}",
                                              "catalog.retry.initial_wait=0.01"]
        args = llm_overrides(llm.url, run_dir, f"dataset.path={public_dir}", "generation.epochs=1",
                             "model.name=gpt-4o", f"evaluator.url={grader.url}",
                             "evaluator.api_key_env=FAKE_GRADER_KEY", "evaluator.dry_run=false",
                             f"evaluator.ledger_path={tmp_path / 'ledger.jsonl'}", *catalog)
        out = run_cli("run", *args, env=env)
        assert out.returncode == 0, out.stderr
        assert fakes.total_requests() > 0 and len(grader.requests) == 1
        requests = fakes.total_requests()
        # a second snapshot within the cache lifetime asks no server
        again = run_cli("catalog", f"run_dir={run_dir}", *catalog, env=env)
        assert again.returncode == 0, again.stderr
        assert fakes.total_requests() == requests
    index = read_json(run_dir / "catalog" / "index.json")
    assert index["attributions"]
    matches = read_json(run_dir / "catalog" / "matches.json")
    assert matches["model"] == "gpt-4o" and matches["matches"]
    assert read_json(run_dir / "manifest.json")["catalog_snapshot"]["dir"] == "catalog"
    secrets = list(fakes.env().values()) + [LLM_KEY, GRADER_KEY]
    for path in run_dir.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            assert not any(s in text for s in secrets), path


def test_hydra_flags_may_stand_before_or_after_the_command():
    for args in (["--cfg", "job", "run", "generation.epochs=2"], ["run", "generation.epochs=2", "--cfg", "job"],
                 ["run", "experiment=gpt5_high_code_web", "--cfg", "job"]):
        out = run_cli(*args)
        assert out.returncode == 0, (args, out.stderr)
        assert "generation:" in out.stdout and "command: run" in out.stdout
    assert "use_web_search: true" in out.stdout and "api: responses" in out.stdout


def test_keys_can_come_from_a_dotenv_file(public_dir, tmp_path):
    (tmp_path / ".env").write_text(f"FAKE_LLM_KEY={LLM_KEY}\n")
    with FakeLLMServer() as llm:
        out = run_cli("generate", *llm_overrides(llm.url, tmp_path / "run", f"dataset.path={public_dir}",
                                                 "generation.epochs=1"), cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        assert llm.requests[0].headers["authorization"] == f"Bearer {LLM_KEY}"
    for path in (tmp_path / "run").rglob("*"):
        if path.is_file():
            assert LLM_KEY not in path.read_text(errors="replace"), path


def test_catalog_enabled_false_turns_the_whole_step_off(public_dir, tmp_path):
    from tests.fakes.catalogs import FakeCatalogs

    run_dir = tmp_path / "run"
    with FakeLLMServer() as llm, FakeGrader(api_key=GRADER_KEY) as grader, FakeCatalogs() as fakes:
        env = {"FAKE_LLM_KEY": LLM_KEY, "FAKE_GRADER_KEY": GRADER_KEY, **fakes.env()}
        catalog = ["catalog.enabled=false", f"catalog.cache_dir={tmp_path / 'catalog-cache'}",
                   f"catalog.shared_dir={tmp_path / 'shared'}"]
        catalog += _at_fake_catalogs(fakes)
        args = llm_overrides(llm.url, run_dir, f"dataset.path={public_dir}", "generation.epochs=1",
                             "model.name=gpt-4o", f"evaluator.url={grader.url}",
                             "evaluator.api_key_env=FAKE_GRADER_KEY", "evaluator.dry_run=false",
                             f"evaluator.ledger_path={tmp_path / 'ledger.jsonl'}", *catalog)
        out = run_cli("run", *args, env=env)
        assert out.returncode == 0, out.stderr
        said = [line for line in (out.stdout + out.stderr).splitlines() if "catalog.enabled=false" in line]
        assert len(said) == 1, out.stdout + out.stderr
        alone = run_cli("catalog", f"run_dir={run_dir}", *catalog, env=env)
        assert alone.returncode == 0, alone.stderr
        assert "off" in alone.stdout + alone.stderr
        assert fakes.total_requests() == 0
    assert not (run_dir / "catalog").exists() and not (tmp_path / "shared").exists()
    assert "catalog_snapshot" not in read_json(run_dir / "manifest.json")


def test_no_command_prints_usage_and_version_is_the_tools():
    from critpt_harness import __version__

    bare = run_cli()
    assert bare.returncode == 0 and "usage: critpt-harness <command>" in bare.stdout
    assert not (Path.cwd() / "runs").exists()  # nothing was started
    for flag in ("--version", "-V"):
        out = run_cli(flag)
        assert out.returncode == 0 and out.stdout.strip() == f"critpt-harness {__version__}", out


def test_a_sweep_goes_on_past_a_failed_job_and_ends_with_a_summary(public_dir, tmp_path):
    out = run_cli("-m", "generate", f"dataset.path={public_dir}", "dataset.limit=2", "generation.epochs=1",
                  "model.reasoning_effort=high,bogus", cwd=tmp_path)
    assert out.returncode == 2
    assert "sweep: 1 job(s) failed (the others ran):" in out.stderr
    assert "job 1 (model.reasoning_effort=bogus): model.reasoning_effort='bogus'" in out.stderr
    folders = [f.name for f in (tmp_path / "runs" / "mock").iterdir() if f.is_dir()]
    assert len(folders) == 1 and folders[0].endswith("_reasoning_effort-high")


def test_help_lists_the_groups_choices_without_the_schemas():
    out = run_cli("--help")
    assert out.returncode == 0
    groups = out.stdout.split("config groups (group=option):")[1]
    assert "model: anthropic, deepseek" in groups and "generation: one_step, two_step" in groups
    assert "schema" not in groups


@pytest.mark.parametrize("launcher, plugin", [
    (("hydra/launcher=joblib", "hydra.launcher.n_jobs=3"), "hydra_plugins.hydra_joblib_launcher"),
    (("hydra/launcher=submitit_local", "hydra.launcher.timeout_min=5"), "hydra_plugins.hydra_submitit_launcher"),
])
def test_a_sweep_on_another_launcher_runs_every_job_and_reports_failures(public_dir, tmp_path, launcher, plugin):
    pytest.importorskip(plugin, reason="pip install -e '.[sweeps]'")
    out = run_cli("-m", "generate", f"dataset.path={public_dir}", "dataset.limit=2", "generation.epochs=1",
                  "model.reasoning_effort=high,bogus,low", *launcher, cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    assert "sweep: 1 job(s) failed (the others ran):" in out.stderr
    assert "(model.reasoning_effort=bogus): model.reasoning_effort='bogus'" in out.stderr
    folders = sorted(f.name.split("_", 2)[-1] for f in (tmp_path / "runs" / "mock").iterdir() if f.is_dir())
    assert folders == ["reasoning_effort-high", "reasoning_effort-low"]


def test_parallel_jobs_that_submit_at_once_take_turns(public_dir, tmp_path):
    pytest.importorskip("hydra_plugins.hydra_joblib_launcher", reason="pip install -e '.[sweeps]'")
    with FakeGrader(api_key="g", grading_time=0.5) as grader:
        out = run_cli("-m", "run", f"dataset.path={public_dir}", "generation.epochs=1", "checks.execute=false",
                      "model.label=model-a,model-b,model-c", "evaluator.dry_run=false", f"evaluator.url={grader.url}",
                      "evaluator.api_key_env=FAKE_GRADER_KEY", f"evaluator.ledger_path={tmp_path / 'ledger.jsonl'}",
                      "catalog.enabled=false", "report.plot=false", "hydra/launcher=joblib", "hydra.launcher.n_jobs=3",
                      env={"FAKE_GRADER_KEY": "g"}, cwd=tmp_path)
        assert out.returncode == 0, out.stderr + out.stdout
        assert len(grader.graded) == 3  # one grading per job, none refused for the lock
    folders = sorted(p.parent.parent.name for p in (tmp_path / "runs").glob("*/*/results.json"))
    assert folders == ["model-a", "model-b", "model-c"]
