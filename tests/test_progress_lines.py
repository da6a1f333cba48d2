"""Without a terminal (nohup, SLURM, CI) a run says how it is doing: a plain line
every generation.log_every items or generation.log_seconds, on stderr and in
harness.log, which exists after any command on a run folder, failed or not."""

from __future__ import annotations

import re

from tests.fakes.llm import FakeLLMServer

from .conftest import llm_overrides, run_cli


def test_plain_progress_lines_every_n_items_and_in_the_log(public_dir, tmp_path):
    run = tmp_path / "run"
    with FakeLLMServer() as llm:
        out = run_cli("generate", *llm_overrides(llm.url, run, f"dataset.path={public_dir}", "dataset.limit=10",
                                                 "generation.epochs=1", "generation.progress=true",
                                                 "generation.log_every=4", "generation.concurrency=2"),
                      env={"FAKE_LLM_KEY": "k"})
    assert out.returncode == 0, out.stderr
    lines = [line for line in out.stderr.splitlines() if "generate: " in line]
    counts = [int(re.search(r"generate: (\d+)/10 items", line).group(1)) for line in lines]
    assert counts[:2] == [4, 8] and counts[-1] == 10, out.stderr
    assert "tokens in/out" in lines[0] and "ETA" in lines[0]
    log = (run / "harness.log").read_text()
    assert "generate: 10/10 items (0 failed)" in log and "critpt-harness generate finished: ok" in log


def test_a_line_comes_on_time_even_when_no_item_finishes(public_dir, tmp_path):
    with FakeLLMServer(latency=1.6) as llm:
        out = run_cli("generate", *llm_overrides(llm.url, tmp_path / "run", f"dataset.path={public_dir}",
                                                 "dataset.limit=1", "generation.epochs=1", "generation.progress=true",
                                                 "generation.log_seconds=0.5"), env={"FAKE_LLM_KEY": "k"})
    assert out.returncode == 0, out.stderr
    waiting = [line for line in out.stderr.splitlines() if "generate: 0/1 items" in line and "1 in flight" in line]
    assert len(waiting) >= 2, out.stderr


def test_harness_log_records_a_failed_command_on_a_run(public_dir, tmp_path):
    run = tmp_path / "run"
    common = (f"dataset.path={public_dir}", "dataset.limit=2", "generation.preflight=true")
    with FakeLLMServer(api_key="right") as llm:
        first = run_cli("generate", *llm_overrides(llm.url, run, *common, "generation.epochs=1"),
                        env={"FAKE_LLM_KEY": "right"})
        assert first.returncode == 0, first.stderr
        out = run_cli("run", *llm_overrides(llm.url, run, *common, "generation.epochs=2"),
                      env={"FAKE_LLM_KEY": "wrong"})
        assert out.returncode == 2
        # a failed start of a new run leaves nothing, not even its log (tests/test_first_hour.py)
        fresh = run_cli("run", *llm_overrides(llm.url, tmp_path / "fresh", *common), env={"FAKE_LLM_KEY": "wrong"})
        assert fresh.returncode == 2 and not (tmp_path / "fresh").exists()
    log = (run / "harness.log").read_text()
    assert "critpt-harness run started" in log and "critpt-harness run finished: error: preflight" in log
    assert "wrong" not in log.replace("wrong key", "")  # the key's value is never logged


def test_the_quick_exit_still_runs_atexit_handlers_and_flushes_output():
    # cli.main ends the process without module teardown; what a normal exit does must still happen
    import subprocess
    import sys

    code = ("import atexit, sys\nfrom critpt_harness import cli\n"
            "atexit.register(lambda: print('atexit ran'))\n"
            "sys.argv = ['critpt-harness', '--version']\ncli.main()\nprint('not reached: main ends the process')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("critpt-harness ") and out.stdout.rstrip().endswith("atexit ran")
    assert "not reached" not in out.stdout
