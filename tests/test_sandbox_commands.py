"""What a user sees of the sandbox: `run` names the isolation in force; the subprocess backend,
chosen by name, is labelled UNISOLATED in records, manifest and report; where nothing can
isolate, a run with tools refuses before any model call, the offline default still completes
(execution checks skipped, static checks run); `check-sandbox` prints the probe table."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from critpt_harness.commands import handler
from critpt_harness.runs import RunFolder
from critpt_harness.tools import sandbox as sb
from critpt_harness.tools.sandbox import SandboxUnavailable
from critpt_harness.tools.spawn import _start_error

from .conftest import make_config, run_cli

UNISOLATED = "model code ran UNISOLATED (chosen: sandbox.backend=subprocess)"


def _run(public_dir, run_dir, *extra):
    lines = []
    cfg = make_config("command=run", f"dataset.path={public_dir}", "dataset.limit=2", "generation.epochs=1",
                      "prompts.source=own", "generation.progress=false", f"run_dir={run_dir}", *extra)
    handler("run")(cfg, RunFolder(run_dir), lines.append)
    return lines


@pytest.fixture
def nothing_isolates(monkeypatch):
    monkeypatch.setattr(sb, "bwrap_executables", lambda: [])
    monkeypatch.setattr(sb, "landlock_problem", lambda: "the kernel has no Landlock (simulated)")
    sb.forget()
    from critpt_harness.commands import sandbox as said

    said._SAID.clear()
    yield
    sb.forget()
    said._SAID.clear()


def test_subprocess_chosen_by_name_is_labelled_unisolated_in_records_manifest_and_report(public_dir, tmp_path):
    run_dir = tmp_path / "run"
    out = run_cli("run", f"dataset.path={public_dir}", "dataset.limit=2", "generation.epochs=1", "prompts.source=own",
                  "generation.use_python=true", "sandbox.backend=subprocess", "generation.progress=false",
                  f"run_dir={run_dir}", timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert f"sandbox: {UNISOLATED}" in out.stdout
    records = [json.loads(line) for line in (run_dir / "generations.jsonl").read_text().splitlines()]
    calls = [c for r in records for c in r["tool_calls"]]
    assert calls and all(c["isolation"] == "subprocess" and c["unisolated"] == UNISOLATED for c in calls)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["isolation"]["tools"]["label"] == UNISOLATED
    assert manifest["isolation"]["checks"]["label"] == UNISOLATED
    report = (run_dir / "report.md").read_text()
    assert UNISOLATED in report and "bubblewrap was not available" not in report


def test_where_nothing_isolates_a_run_with_tools_refuses_before_any_model_call(public_dir, tmp_path, nothing_isolates):
    run_dir = tmp_path / "run"
    with pytest.raises(SandboxUnavailable) as refused:
        _run(public_dir, run_dir, "generation.use_python=true")
    assert "bwrap: not installed" in str(refused.value) and "sandbox.backend=subprocess" in str(refused.value)
    assert not (run_dir / "generations.jsonl").exists()


def test_where_nothing_isolates_the_offline_default_completes_without_execution_checks(public_dir, tmp_path,
                                                                                        nothing_isolates):
    run_dir = tmp_path / "run"
    lines = _run(public_dir, run_dir)
    said = "\n".join(lines)
    assert "sandbox: the execution checks are skipped (the static checks still run)" in said
    assert "apt-get install bubblewrap" in said and "Traceback" not in said
    checks = json.loads((run_dir / "batches" / "epoch_0.checks.json").read_text())
    assert "no sandbox that isolates" in checks["execution_skipped"] and checks["passed_per_check"]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["isolation"]["checks"]["isolated"] is False
    report = (run_dir / "report.md").read_text()
    assert "execution checks skipped, no sandbox that isolates could run here" in report


def test_the_judge_refuses_where_nothing_isolates(nothing_isolates, tmp_path):
    cfg = make_config("command=grade-local", f"run_dir={tmp_path}", f"grader.problems={tmp_path}")
    run_dir = tmp_path / "r"
    run_dir.mkdir()
    (run_dir / "config.yaml").write_text("dataset: {}\n")
    with pytest.raises(SandboxUnavailable):
        handler("grade-local")(cfg, RunFolder(run_dir), print)


def test_check_sandbox_prints_what_held(tmp_path):
    out = run_cli("check-sandbox", f"run_dir={tmp_path / 'none'}", timeout=300)
    if "no sandbox that isolates" in out.stdout + out.stderr:
        assert out.returncode != 0 and "sandbox.backend=subprocess" in out.stdout
        pytest.skip("no sandbox isolates on this machine (the refusal was checked)")
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    for row in ("read harness environ", "/proc/<harness>/cwd", "network: tcp to the harness", "processes (limit",
                "memory (limit", "file size (limit", "wall-clock limit", "list other sandbox"):
        line = next(line for line in out.stdout.splitlines() if line.startswith(row))
        assert " held " in f"{line} ", line
    assert "NOT HELD" not in out.stdout


def test_a_start_refused_to_the_unprivileged_uid_names_the_closed_folder():
    """As root the code runs as uid 65534: an interpreter behind a 0700 folder (pyenv under /root)
    cannot start, and the refusal names that folder rather than guessing."""
    top = Path(tempfile.mkdtemp())
    top.chmod(0o755)
    closed = top / "home"
    (closed / "bin").mkdir(parents=True)
    closed.chmod(0o700)
    python = closed / "bin" / "python"
    python.write_text("")
    try:
        said = _start_error(PermissionError(13, "Permission denied", str(python)), root=True)
        assert f"cannot reach it: {closed.resolve()} is not open to other users" in said
        closed.chmod(0o755)
        python.chmod(0o755)
        assert "is not open to other users" not in _start_error(PermissionError(13, "x", str(python)), root=True)
        assert "uid" not in _start_error(PermissionError(13, "x", str(python)), root=False)
    finally:
        os.chmod(closed, 0o755)
        shutil.rmtree(top)


def test_a_refusal_is_remembered_like_a_choice_so_later_stages_do_not_probe_again(nothing_isolates, monkeypatch):
    looked: list = []
    monkeypatch.setattr(sb, "bwrap_executables", lambda: looked.append(1) or [])
    from critpt_harness.config.sandbox import SandboxConfig

    said = []
    for _ in range(2):
        with pytest.raises(SandboxUnavailable) as refused:
            sb.choose(SandboxConfig())
        said.append(str(refused.value))
    assert len(looked) == 1 and said[0] == said[1] and "no sandbox that isolates" in said[0]
    sb.forget()
    with pytest.raises(SandboxUnavailable):
        sb.choose(SandboxConfig())
    assert len(looked) == 2  # forget() probes anew
