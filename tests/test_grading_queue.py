"""The grading queue: 3 runs x 5 epochs against a grader allowing 4 gradings per short window are all
graded across windows with exactly 15 successful POSTs; epochs are spread across runs; a `queue run
--wait` killed mid-way and started again loses nothing and re-posts nothing."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta

import pytest

from critpt_harness.submission.queue import pending, run_queue, show
from critpt_harness.commands.batches import cmd_assemble
from critpt_harness.commands.generate import cmd_generate
from critpt_harness.commands.submission import cmd_queue
from critpt_harness.runfiles import read_json
from critpt_harness.runs import RunFolder
from tests.fakes.grader import FakeGrader

from .conftest import make_config

WINDOW_S = 2.0


@pytest.fixture
def three_runs(public_dir, tmp_path):
    """Three assembled 5-epoch runs whose 15 batches all differ (the mock answers alike: marked apart)."""
    first = RunFolder(tmp_path / "runs" / "a")
    cfg = make_config(f"dataset.path={public_dir}", f"run_dir={first.path}", "generation.epochs=5",
                      "generation.progress=false", "checks.execute=false")
    cmd_generate(cfg, first, echo=lambda _: None)
    cmd_assemble(cfg, first, echo=lambda _: None)
    runs = [first] + [RunFolder(shutil.copytree(first.path, tmp_path / "runs" / n)) for n in ("b", "c")]
    for run in runs:
        for epoch in range(5):
            batch = read_json(run.batch_file(epoch))
            batch["submissions"][0]["generated_code"] += f"\n# {run.path.name}-{epoch}"
            run.batch_file(epoch).write_text(json.dumps(batch))
    return runs


def config(grader, tmp_path, run_dir, *extra):
    return make_config(f"run_dir={run_dir}", f"evaluator.url={grader.url}", "evaluator.api_key_env=FAKE_GRADER_KEY",
                       f"evaluator.ledger_path={tmp_path / 'ledger.jsonl'}", "evaluator.daily_limit=4",
                       f"evaluator.quota_window_hours={WINDOW_S / 3600}", "evaluator.retry.initial_wait=0.01",
                       *extra)


def test_fifteen_epochs_graded_across_windows_with_a_restart(three_runs, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_GRADER_KEY", "g")
    with FakeGrader(api_key="g", limit=4, window=timedelta(seconds=WINDOW_S)) as grader:
        for run in three_runs:
            cmd_queue(config(grader, tmp_path, run.path, "queue.action=add"), run, echo=lambda _: None)
        cfg = config(grader, tmp_path, three_runs[0].path, "queue.wait=true")
        order = [(e.run_dir.rsplit("/", 1)[-1], e.epoch) for e in pending(cfg.evaluator)]
        assert order[:6] == [("a", 0), ("b", 0), ("c", 0), ("a", 1), ("b", 1), ("c", 1)]  # spread across runs
        lines: list = []
        show(cfg, echo=lines.append)
        assert "15 epoch(s) wait" in lines[0] and "expected now" in lines[1] and "expected now" not in lines[5]

        def killed(seconds):  # the process is killed while it waits for the next window
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            run_queue(cfg, echo=lambda _: None, sleep=killed)
        assert len(grader.graded) == 4 and len(pending(cfg.evaluator)) == 11
        assert run_queue(cfg, echo=lambda _: None) == 11  # started again: goes on where it stopped
        assert len(grader.graded) == 15 and pending(cfg.evaluator) == []
    hashes = []
    for run in three_runs:
        epochs = read_json(run.results_file)["epochs"]
        assert sorted(epochs) == ["0", "1", "2", "3", "4"]
        hashes += [e["content_hash"] for e in epochs.values()]
    assert len(set(hashes)) == 15  # each batch graded once: nothing re-posted after the restart


def test_without_wait_it_stops_at_the_quota_and_says_when(three_runs, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_GRADER_KEY", "g")
    with FakeGrader(api_key="g", limit=4, window=timedelta(seconds=WINDOW_S)) as grader:
        cmd_queue(config(grader, tmp_path, three_runs[0].path, "queue.action=add"), three_runs[0], echo=lambda _: None)
        from critpt_harness.report.command import build_report
        from critpt_harness.config.report import ReportConfig

        build_report([three_runs[0].path], ReportConfig(plot=False, formats=["md"]))
        md = (three_runs[0].path / "report.md").read_text()
        assert "**No graded result yet**: queued, expected by " in md and "epochs 0, 1, 2, 3, 4 wait" in md
        lines: list = []
        assert run_queue(config(grader, tmp_path, three_runs[0].path), echo=lines.append) == 4
        assert "quota used up: 1 epoch(s) wait; the next slot frees at" in lines[-1] and "--wait" in lines[-1]
    assert len(grader.graded) == 4
