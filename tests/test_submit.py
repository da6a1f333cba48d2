"""Submission against a real local grader: quota safety, retries, clear errors."""

import asyncio
import json
import time
from datetime import datetime, timedelta, timezone

import pytest

from critpt_harness.errors import BatchError, GraderError, QuotaExhausted
from critpt_harness.commands.batches import cmd_assemble
from critpt_harness.commands.generate import cmd_generate
from critpt_harness.commands.submission import cmd_submit
from critpt_harness.runfiles import read_json, read_jsonl
from critpt_harness.runs import RunFolder
from critpt_harness.submission.ledger import Ledger
from critpt_harness.submission.submit import submit_async
from tests.fakes.base import Fault
from tests.fakes.grader import FakeGrader

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
                      "evaluator.retry.initial_wait=0.01", *extra)
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
    attempts = [a for a in read_jsonl(run.submissions_file) if a.get("state") != "in_flight"]
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
    assert [a["status"] for a in read_jsonl(run.submissions_file) if a.get("state") != "in_flight"] == [429]
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
        grader.inject(Fault(502), Fault(504), Fault(500))
        with pytest.raises(GraderError, match="refunded"):
            submit(evaluator(grader, tmp_path, "evaluator.epochs=[0]", "evaluator.retry.max_attempts=3"), run)
        assert len(grader.requests) == 3
        grader.inject(Fault(502), Fault(500))
        submit(evaluator(grader, tmp_path, "evaluator.epochs=[0]", "evaluator.retry.max_attempts=3"), run)
        assert len(grader.requests) == 6
    statuses = [a["status"] for a in read_jsonl(run.submissions_file) if a.get("state") != "in_flight"]
    assert statuses == [502, 504, 500, 502, 500, 200]


@pytest.mark.parametrize("case,advice", [("400", "seems to grade another CritPt version"), ("401", "key was refused"),
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
            # evaluator.retry.max_retry_after is irrelevant: the headers already said 0 remain
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


def wait_until(condition, seconds=10.0):
    end = time.monotonic() + seconds
    while not condition() and time.monotonic() < end:
        time.sleep(0.02)
    assert condition()


def test_a_grading_the_client_gave_up_on_counts_and_is_announced(run, tmp_path):
    """The grader finishes (and counts) a grading slower than evaluator.timeout:
    the attempt is not retried, and the next submit says so and counts it."""
    ledger = Ledger(tmp_path / "ledger.jsonl")
    with FakeGrader(api_key=KEY, grading_time=1.5) as grader:
        lines = []
        with pytest.raises(GraderError) as info:
            submit(evaluator(grader, tmp_path, "evaluator.timeout=0.5", "evaluator.retry.max_attempts=4"), run,
                   echo=lines.append)
        message = str(info.value)
        assert "no answer within evaluator.timeout=0.5s" in message and "may still" in message
        assert len(grader.requests) == 1  # never retried: it could cost a second slot
        assert not any("retrying" in line for line in lines)
        wait_until(lambda: len(grader.graded) == 1)  # the grader finished it and counted it
        day_ago = datetime.now(timezone.utc) - timedelta(hours=24)
        used = ledger.used_since(day_ago, grader.url)
        assert len(used) == 1 and used[0].state == "unknown" and used[0].epoch == 0
        assert ledger.find(used[0].content_hash, grader.url) is None  # no result to reuse

        # quota 1: the unknown attempt used it; nothing is posted
        lines = []
        with pytest.raises(QuotaExhausted, match="1 gradings in the last 24 h"):
            submit(evaluator(grader, tmp_path, "evaluator.daily_limit=1", "evaluator.epochs=[0]"), run,
                   echo=lines.append)
        assert len(grader.requests) == 1
        notice = [line for line in lines if "epoch 0 was being graded when the last submit stopped" in line]
        assert len(notice) == 1 and "may have counted it" in notice[0]
        assert f"started {used[0].graded_at:%Y-%m-%d %H:%M} UTC" in notice[0]

        # quota 2: announced again, then graded again (it has no result)
        grader.grading_time = 0.0
        lines = []
        outcomes = submit(evaluator(grader, tmp_path, "evaluator.daily_limit=2", "evaluator.epochs=[0]"), run,
                          echo=lines.append)
        assert "accuracy" in outcomes[0] and len(grader.requests) == 2
        assert any("epoch 0 was being graded" in line for line in lines)
        assert len(ledger.used_since(day_ago, grader.url)) == 2
        # graded now: reused, no notice, and no third post
        lines = []
        outcomes = submit(evaluator(grader, tmp_path, "evaluator.daily_limit=2", "evaluator.epochs=[0]"), run,
                          echo=lines.append)
        assert "already graded" in outcomes[0] and len(grader.requests) == 2
        assert not any("was being graded" in line for line in lines)
    states = [a.get("state") for a in read_jsonl(run.submissions_file)]
    assert states == ["in_flight", "unknown", "in_flight", "graded"]


def test_a_connection_dropped_after_the_body_is_not_retried(run, tmp_path):
    with FakeGrader(api_key=KEY) as grader:
        grader.inject(Fault.dropped())
        with pytest.raises(GraderError, match="did not answer"):
            submit(evaluator(grader, tmp_path, "evaluator.epochs=[0]", "evaluator.retry.max_attempts=4"), run)
        assert len(grader.requests) == 1
    assert len(Ledger(tmp_path / "ledger.jsonl").used_since(datetime.now(timezone.utc) - timedelta(hours=1),
                                                            grader.url)) == 1


def test_the_attempt_is_on_disk_before_the_grader_answers(run, tmp_path):
    seen = []
    ledger_file = tmp_path / "ledger.jsonl"

    with FakeGrader(api_key=KEY) as grader:
        def grade(submission):
            if not seen:  # inside the server, while the client waits for the answer
                seen.append((list(read_jsonl(run.submissions_file)), list(read_jsonl(ledger_file))))
            return True
        grader.grade = grade
        submit(evaluator(grader, tmp_path, "evaluator.epochs=[0]"), run)
    attempts, ledger = seen[0]
    assert [a["state"] for a in attempts] == ["in_flight"]
    assert [e["state"] for e in ledger] == ["in_flight"]
    entry = ledger[0]
    assert entry["epoch"] == 0 and entry["url"] == grader.url and entry["run_dir"] == str(run.path)
    assert entry["started_at"] and len(entry["content_hash"]) == 64
    assert attempts[0]["attempt_id"] == entry["attempt_id"]
    # the answer completes the same attempt: one grading, with its result
    after = list(read_jsonl(ledger_file))
    assert [e["state"] for e in after] == ["in_flight", "graded"]
    assert after[1]["attempt_id"] == entry["attempt_id"] and after[1]["result"]["accuracy"] == 1.0
    entries = Ledger(ledger_file).entries(grader.url)
    assert len(entries) == 1 and entries[0].graded


def test_refunded_attempts_free_their_slot_and_old_ledgers_still_read(run, tmp_path):
    ledger_file = tmp_path / "ledger.jsonl"
    now = datetime.now(timezone.utc).isoformat()
    with FakeGrader(api_key=KEY) as grader:
        # an entry written before attempts had ids: a completed grading
        ledger_file.write_text(json.dumps({"content_hash": "old", "graded_at": now, "run_dir": "x", "epoch": 3,
                                           "result": {"accuracy": 0.1}, "url": grader.url}) + "\n")
        grader.inject(Fault(502), Fault(502))
        submit(evaluator(grader, tmp_path, "evaluator.epochs=[0]", "evaluator.retry.max_attempts=3"), run)
        entries = Ledger(ledger_file).entries(grader.url)
    assert [(e.content_hash == "old", e.graded) for e in entries] == [(True, True), (False, True)]


def test_retry_messages_stop_at_the_last_attempt_and_413_says_what_to_do(run, tmp_path):
    with FakeGrader(api_key=KEY) as grader:
        grader.inject(Fault(502), Fault(502), Fault(502))
        lines = []
        with pytest.raises(GraderError, match="kept failing"):
            submit(evaluator(grader, tmp_path, "evaluator.epochs=[0]", "evaluator.retry.max_attempts=3"), run,
                   echo=lines.append)
        assert len(grader.requests) == 3
        retrying = [line for line in lines if "retrying" in line]
        assert [line.split(":")[1].strip().split(" failed")[0] for line in retrying] == ["attempt 1", "attempt 2"]

        grader.inject(Fault(413, body={"error": "Payload Too Large"}))
        with pytest.raises(GraderError) as info:
            submit(evaluator(grader, tmp_path, "evaluator.epochs=[0]", "evaluator.retry.max_attempts=3"), run)
        assert len(grader.requests) == 4  # not retried
        assert "HTTP 413" in str(info.value) and "evaluator.messages=none" in str(info.value)
        assert "try again later" not in str(info.value)
    # refunded: nothing counts against the local quota
    assert Ledger(tmp_path / "ledger.jsonl").entries(grader.url) == []


def test_a_connect_failure_is_not_a_timeout_and_is_refunded(run, tmp_path):
    import socket
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there
    cfg = make_config(f"evaluator.url=http://127.0.0.1:{port}/evaluate", "evaluator.api_key_env=FAKE_GRADER_KEY",
                      "evaluator.dry_run=false", f"evaluator.ledger_path={tmp_path / 'ledger.jsonl'}",
                      "evaluator.retry.initial_wait=0.01", "evaluator.retry.max_attempts=2", "evaluator.epochs=[0]")
    lines = []
    with pytest.raises(GraderError, match="could not reach the grader") as info:
        submit(cfg.evaluator, run, echo=lines.append)
    assert "did not answer" not in str(info.value)
    assert len([line for line in lines if "retrying" in line]) == 1
    assert Ledger(tmp_path / "ledger.jsonl").entries(f"http://127.0.0.1:{port}/evaluate") == []


def test_a_submit_waits_for_another_one_to_finish_then_goes_on(run, tmp_path):
    import subprocess
    import sys
    import time

    lock = str(tmp_path / "ledger.jsonl") + ".lock"
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom filelock import FileLock\n"
                               f"l = FileLock({lock!r}); l.acquire(); print('held', flush=True); time.sleep(2.5)"],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"  # another submit is posting
    lines: list = []
    with FakeGrader(api_key=KEY) as grader:
        started = time.monotonic()
        with pytest.raises(GraderError, match=r"kept submitting for evaluator.lock_wait=0.3s"):
            submit(evaluator(grader, tmp_path, "evaluator.lock_wait=0.3", "evaluator.epochs=[0]"), run, echo=lines.append)
        assert grader.requests == [] and "waiting up to 0.3 s" in lines[0]
        outcomes = submit(evaluator(grader, tmp_path, "evaluator.lock_wait=30", "evaluator.epochs=[0]"), run)
        assert time.monotonic() - started >= 2.0  # it waited for the other one
    holder.wait(10)
    assert len(grader.requests) == 1 and outcomes[0].startswith("graded")
