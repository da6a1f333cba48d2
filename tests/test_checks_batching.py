"""The batch stage at scale: every epoch's execution checks run in one sandbox process, each
answer's result stays with its own epoch, and the assembler reads only what a batch needs."""

from __future__ import annotations

import json

from critpt_harness.batches.batch import build_batch
from critpt_harness.checks import sandboxed
from critpt_harness.commands.batches import cmd_assemble, cmd_check
from critpt_harness.commands.generate import cmd_generate
from critpt_harness.contracts import GenerationFlags
from critpt_harness.generation.records import answers, ok_records
from critpt_harness.runfiles import read_json
from critpt_harness.runs import RunFolder

from .conftest import make_config


def _run(public_dir, tmp_path, epochs: int, *extra: str) -> RunFolder:
    cfg = make_config(f"dataset.path={public_dir}", f"run_dir={tmp_path / 'run'}", f"generation.epochs={epochs}",
                      "generation.progress=false", *extra)
    run = RunFolder(cfg.run_dir)
    cmd_generate(cfg, run, echo=lambda s: None)
    return run


def test_every_epochs_answers_run_in_one_sandbox_and_stay_apart(public_dir, tmp_path, monkeypatch):
    run = _run(public_dir, tmp_path, 3)
    records = [json.loads(line) for line in run.generations_file.read_text().splitlines()]
    for r in records:  # epoch 1's answer to Challenge_22 fails when run; the other epochs' pass
        if r["problem_id"] == "Challenge_22_main" and r["epoch"] == 1:
            r["extracted_code"] = r["extracted_code"].replace("f = 0", "f = 1/0")
    run.generations_file.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    calls = []
    real = sandboxed.run_python

    async def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(kwargs.get("stdin"))
        return await real(*args, **kwargs)

    monkeypatch.setattr(sandboxed, "run_python", counted)
    out: list = []
    cmd_check(make_config(f"run_dir={run.path}"), run, echo=out.append)
    assert len(calls) == 1 and len(json.loads(calls[0])) == 3 * 67  # every executable answer, one process
    summaries = [read_json(run.batches_dir / f"epoch_{e}.checks.json") for e in range(3)]
    assert [s["passed_per_check"]["executes"] for s in summaries] == [67, 66, 67]
    assert summaries[1]["failures"] == {"Challenge_22_main": ["executes: raised ZeroDivisionError: division by zero"]}
    assert summaries[0]["failures"] == summaries[2]["failures"] == {}
    row = out[-1].split("Challenge_22_main")[1].splitlines()[0].split()
    assert row == ["ok", "FAIL", "ok"]


def test_the_assembler_reads_only_what_a_batch_needs_and_builds_the_same_batches(public_dir, tmp_path):
    run = _run(public_dir, tmp_path, 2)
    full = ok_records(run)
    lean = answers(run, messages=False)
    assert [r.key for r in lean] == [r.key for r in full]
    assert all(r.messages == [] and r.tool_calls == [] and r.reasoning == [] for r in lean)
    assert [r.replies for r in lean] == [r.replies[-1:] for r in full] and full[0].replies != full[0].replies[-1:]
    assert [(r.extracted_code, r.checks) for r in lean] == [(r.extracted_code, r.checks) for r in full]
    for mode in ("official", "none"):
        for code in ("raw", "extracted"):
            made = [build_batch([r for r in recs if r.epoch == 0], epoch=0, model="m", flags=GenerationFlags(),
                                metadata={}, messages=mode, code=code) for recs in (full, lean)]
            assert made[0] == made[1]

    # evaluator.messages=full sends every turn: the assembler then reads the conversations
    cmd_assemble(make_config(f"run_dir={run.path}", "evaluator.messages=full", "checks.execute=false"), run,
                 echo=lambda s: None)
    sent = read_json(run.batch_file(0))["submissions"][0]["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user", "assistant"]
