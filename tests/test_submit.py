"""Submission against a real local grader: quota safety, retries, clear errors."""

import asyncio
import json
from datetime import timedelta

import pytest

from critpt_harness.errors import BatchError, GraderError, QuotaExhausted
from critpt_harness.pipeline import cmd_assemble, cmd_generate, cmd_submit
from critpt_harness.runs import RunFolder, read_json, read_jsonl
from critpt_harness.submit import Ledger, submit_async
from critpt_harness.testing.servers import Fault, FakeGrader

from .conftest import make_config

KEY = "aa-test-key-987654321"


@pytest.fixture
def run(public_dir, tmp_path):
    """A mock-model run with two assembled epochs. The mock answers the same in
    every epoch, so epoch 1 gets one edited answer to make its content differ."""
    cfg = make_config(f"dataset.path={public_dir}", f"run_dir={tmp_path / 'run'}", "generation.epochs=2",
                      "generation.progress=false", "checks.execute=false")
    folder = RunFolder(cfg.run_dir)
    cmd_generate(cfg, folder, echo=lambda s: None)
    cmd_assemble(cfg, folder, echo=lambda s: None)
    batch = read_json(folder.batch_file(1))
    batch["submissions"][0]["generated_code"] += "\n# epoch 1"
    folder.batch_file(1).write_text(json.dumps(batch))
    return folder


def test_identical_epochs_are_graded_once(public_dir, tmp_path):
    cfg = make_config(f"dataset.path={public_dir}", f"run_dir={tmp_path / 'same'}", "generation.epochs=2",
                      "generation.progress=false")
    folder = RunFolder(cfg.run_dir)
    cmd_generate(cfg, folder, echo=lambda s: None)
    cmd_assemble(cfg, folder, echo=lambda s: None)
    with FakeGrader(api_key=KEY) as grader:
        outcomes = submit(evaluator(grader, tmp_path), folder)
    assert len(grader.requests) == 1 and "already graded" in outcomes[1]
    assert read_json(folder.results_file)["epochs"]["1"]["accuracy"] == 1.0


def evaluator(grader, tmp_path, *extra):
    cfg = make_config(f"evaluator.url={grader.url}", "evaluator.api_key_env=FAKE_GRADER_KEY",
                      "evaluator.dry_run=false", f"evaluator.ledger_path={tmp_path / 'ledger.jsonl'}",
                      "evaluator.retry_wait=0.01", *extra)
    return cfg.evaluator


def submit(ev, run, echo=None):
    return asyncio.run(submit_async(ev, run, show_progress=False, echo=echo or (lambda s: None)))


@pytest.fixture(autouse=True)
def grader_key(monkeypatch):
    monkeypatch.setenv("FAKE_GRADER_KEY", KEY)


def test_each_epoch_is_graded_once_and_accuracies_are_stored(run, tmp_path):
    with FakeGrader(api_key=KEY) as grader:
        # epoch 0: even challenges right (35/70); epoch 1: multiples of 3 (23/70)
        grader.grade = lambda s: int(s["problem_id"].split("_")[1]) % (2 + len(grader.graded)) == 0
        cfg = make_config(f"run_dir={run.path}", f"evaluator.url={grader.url}",
                          "evaluator.api_key_env=FAKE_GRADER_KEY", "evaluator.dry_run=false",
                          f"evaluator.ledger_path={tmp_path / 'ledger.jsonl'}", "generation.progress=false")
        lines = []
        cmd_submit(cfg, run, echo=lines.append)
    assert len(grader.requests) == 2 and grader.max_in_flight == 1
    body = grader.requests[0].json()
    assert len(body["submissions"]) == 70
    assert set(body["submissions"][0]["generation_config"]) == {
        "use_golden_for_prev_steps", "parsing", "multiturn_with_answer", "use_python", "use_web_search"}
    assert body["batch_metadata"]["epoch"] == 0 and body["batch_metadata"]["model"] == "mock"
    results = read_json(run.results_file)
    assert results["epochs"]["0"]["accuracy"] == 0.5
    assert results["epochs"]["1"]["accuracy"] == pytest.approx(23 / 70)
    assert results["summary"]["mean_accuracy"] == pytest.approx((0.5 + 23 / 70) / 2)
    assert results["summary"]["stderr"] == pytest.approx((0.5 - 23 / 70) / 2)
    attempts = list(read_jsonl(run.submissions_file))
    assert [a["status"] for a in attempts] == [200, 200]
    assert attempts[0]["rate_limit"]["x-ratelimit-remaining"] == "9"
    assert any("mean" in line for line in lines)


def test_a_graded_batch_is_never_sent_again_unless_forced(run, tmp_path):
    with FakeGrader(api_key=KEY) as grader:
        submit(evaluator(grader, tmp_path), run)
        outcomes = submit(evaluator(grader, tmp_path), run)
        assert len(grader.requests) == 2
        assert all("already graded" in o for o in outcomes.values())
        # a second run folder with identical answers is recognised too (shared ledger)
        submit(evaluator(grader, tmp_path, "evaluator.force=true", "evaluator.epochs=[1]"), run)
        assert len(grader.requests) == 3
    assert len(Ledger(tmp_path / "ledger.jsonl").entries(grader.url)) == 3


def test_quota_exhausted_stops_without_looping_and_says_when_it_resets(run, tmp_path):
    with FakeGrader(api_key=KEY) as grader:
        grader.remaining = 0  # spent elsewhere: the server answers 429 with a ~24 h Retry-After
        with pytest.raises(QuotaExhausted) as info:
            submit(evaluator(grader, tmp_path), run)
    assert len(grader.requests) == 1
    # Retry-After counts whole seconds, so the time said may be a second before reset_at
    said = {f"{t:%Y-%m-%d %H:%M} UTC" for t in (grader.reset_at, grader.reset_at - timedelta(seconds=2))}
    assert any(s in str(info.value) for s in said)
    assert [a["status"] for a in read_jsonl(run.submissions_file)] == [429]
    assert not run.results_file.exists()


def test_a_short_retry_after_is_waited_for_once(run, tmp_path):
    with FakeGrader(api_key=KEY) as grader:
        grader.inject(Fault(429, headers={"Retry-After": "1"}, body={"error": "Rate limit exceeded"}))
        submit(evaluator(grader, tmp_path, "evaluator.epochs=[0]"), run)
        assert len(grader.requests) == 2 and grader.requests[1].at - grader.requests[0].at >= 0.95
        grader.inject(*[Fault(429, headers={"Retry-After": "0"}, body={"retryAfter": 0})] * 5)
        with pytest.raises(QuotaExhausted):
            submit(evaluator(grader, tmp_path, "evaluator.epochs=[1]"), run)
        assert len(grader.requests) == 4  # one wait, then stop: never a loop


def test_refunded_server_failures_are_retried_a_bounded_number_of_times(run, tmp_path):
    with FakeGrader(api_key=KEY) as grader:
        grader.inject(Fault(502), Fault(504), Fault.dropped())
        with pytest.raises(GraderError, match="refunded"):
            submit(evaluator(grader, tmp_path, "evaluator.epochs=[0]", "evaluator.max_retries=2"), run)
        assert len(grader.requests) == 3
        grader.inject(Fault(502), Fault(500))
        submit(evaluator(grader, tmp_path, "evaluator.epochs=[0]", "evaluator.max_retries=2"), run)
        assert len(grader.requests) == 6
    statuses = [a["status"] for a in read_jsonl(run.submissions_file)]
    assert statuses == [502, 504, None, 502, 500, 200]


@pytest.mark.parametrize("case,advice", [("400", "covers all public problems"), ("401", "key was refused"),
                                         ("403", "no CritPt grading access")])
def test_client_errors_are_not_retried_and_explained(run, tmp_path, case, advice, monkeypatch):
    with FakeGrader(api_key=KEY, forbidden=case == "403") as grader:
        if case == "401":
            monkeypatch.setenv("FAKE_GRADER_KEY", "wrong")
        if case == "400":
            grader.ids = grader.ids[:-1]  # the server expects a different set
        with pytest.raises(GraderError) as info:
            submit(evaluator(grader, tmp_path), run)
    assert len(grader.requests) == 1
    assert f"HTTP {case}" in str(info.value) and advice in str(info.value)


def test_the_ndjson_progress_stream_is_read(run, tmp_path):
    with FakeGrader(api_key=KEY) as grader:
        submit(evaluator(grader, tmp_path, "evaluator.stream_progress=true", "evaluator.epochs=[0]"), run)
    assert grader.requests[0].query["stream_progress"] == ["true"]
    assert read_json(run.results_file)["epochs"]["0"]["accuracy"] == 1.0


def test_an_incomplete_batch_is_never_posted(run, tmp_path):
    batch = read_json(run.batch_file(0))
    batch["submissions"] = batch["submissions"][:-1]
    run.batch_file(0).write_text(json.dumps(batch))
    with FakeGrader(api_key=KEY) as grader:
        with pytest.raises(BatchError, match="missing: Challenge_70_main"):
            submit(evaluator(grader, tmp_path), run)
    assert grader.requests == []


def test_duplicated_or_missing_records_never_make_a_batch(run):
    lines = run.generations_file.read_text().splitlines()
    epoch0 = [l for l in lines if json.loads(l)["epoch"] == 0]
    run.generations_file.write_text("\n".join(lines + [epoch0[4]]) + "\n")
    cfg = make_config(f"run_dir={run.path}")
    with pytest.raises(BatchError, match="epoch 0.*duplicated: Challenge_5_main"):
        cmd_assemble(cfg, run, echo=lambda s: None)
    kept = [l for l in lines if not (json.loads(l)["epoch"] == 1 and json.loads(l)["problem_id"] == "Challenge_2_main")]
    run.generations_file.write_text("\n".join(kept) + "\n")
    with pytest.raises(BatchError, match="epoch 1.*missing: Challenge_2_main"):
        cmd_assemble(cfg, run, echo=lambda s: None)


def test_the_local_daily_limit_stops_before_posting(run, tmp_path):
    ledger = Ledger(tmp_path / "ledger.jsonl")
    with FakeGrader(api_key=KEY) as grader:
        for n in range(3):
            ledger.add(f"other-{n}", "elsewhere", 0, {"accuracy": 0.0}, grader.url)
        ledger.add("rehearsal", "elsewhere", 0, {"accuracy": 0.0}, "http://127.0.0.1:9/local")
        with pytest.raises(QuotaExhausted, match="3 gradings in the last 24 h"):
            submit(evaluator(grader, tmp_path, "evaluator.daily_limit=3"), run)
        assert grader.requests == []
        # gradings by another grader (a local rehearsal) do not use this one's quota
        submit(evaluator(grader, tmp_path, "evaluator.daily_limit=4", "evaluator.epochs=[0]"), run)
        assert len(grader.requests) == 1


def test_remaining_zero_from_the_server_stops_the_next_epoch(run, tmp_path):
    with FakeGrader(api_key=KEY, limit=1) as grader:
        grader.remaining = 1
        with pytest.raises(QuotaExhausted, match="0 gradings remaining"):
            # evaluator.max_wait_on_429 is irrelevant: the headers already said 0 remain
            submit(evaluator(grader, tmp_path), run)
    assert len(grader.requests) == 1


def test_block_policy_refuses_batches_with_failed_checks(run, tmp_path):
    checks = read_json(run.batches_dir / "epoch_0.checks.json")
    checks["failures"] = {"Challenge_3_main": ["no_placeholders: `...` still at line(s) 12"]}
    (run.batches_dir / "epoch_0.checks.json").write_text(json.dumps(checks))
    with FakeGrader(api_key=KEY) as grader:
        with pytest.raises(BatchError, match="check_policy=block"):
            submit(evaluator(grader, tmp_path, "evaluator.check_policy=block"), run)
        warnings = []
        submit(evaluator(grader, tmp_path, "evaluator.epochs=[0]"), run, echo=warnings.append)
    assert len(grader.requests) == 1 and any("fail pre-submission checks" in w for w in warnings)


def test_dry_run_writes_requests_posts_nothing_and_needs_no_key(run, tmp_path, monkeypatch):
    monkeypatch.delenv("FAKE_GRADER_KEY")
    with FakeGrader(api_key=KEY) as grader:
        ev = evaluator(grader, tmp_path, "evaluator.dry_run=true")
        outcomes = submit(ev, run)
    assert grader.requests == [] and set(outcomes) == {0, 1}
    request = read_json(run.path / "requests" / "epoch_0.request.json")
    assert request["body_file"] == "batches/epoch_0.json" and len(request["content_hash"]) == 64
    assert not run.submissions_file.exists()
