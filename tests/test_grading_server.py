"""serve-grader: the evaluate endpoint's contract, exercised by the pipeline's own
submitter (submit_async / GraderClient) and by plain HTTP; every reply says it
is a local grader. Loopback only."""

import asyncio
import json
import socket
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from critpt_harness.retry import RetryConfig
from omegaconf import OmegaConf

from critpt_harness.config import EvaluatorConfig
from critpt_harness.contracts import Batch, GenerationFlags, Submission
from critpt_harness.errors import ConfigError, GraderError, MissingKeyError, QuotaExhausted
from critpt_harness.config.grading import GraderConfig, validate_grader
from critpt_harness.grading.contract import EvaluateContract
from critpt_harness.grading.local import load_golden_set
from critpt_harness.grading.server import MARKER_HEADER, LocalGraderServer, serve_grader
from critpt_harness.generation.models.mock import fill_template
from critpt_harness.data.problems import PUBLIC_IDS
from critpt_harness.runfiles import JsonlAppender, read_json, read_jsonl, write_json_atomic
from critpt_harness.runs import RunFolder
from critpt_harness.submission.grader import GraderClient
from critpt_harness.submission.submit import submit_async
from tests.fakes.grader import FakeGrader

from .synthetic import EXAMPLE_CHALLENGE

KEY = "local-grader-test-key"
KEY_ENV = "LOCAL_GRADER_TEST_KEY"
WITH_GOLDEN = ("Challenge_1_main", "Challenge_4_main", "Challenge_6_main")  # answer() takes no arguments
CONFIGS = Path(__file__).resolve().parents[1] / "configs"


@pytest.fixture(autouse=True)
def key(monkeypatch):
    monkeypatch.setenv(KEY_ENV, KEY)


@pytest.fixture(scope="module")
def public_like(tmp_path_factory, public_dir):
    """The 70 public challenges, three of them given golden answers (the template filled with 0.25)."""
    folder = tmp_path_factory.mktemp("public_with_golden")
    templates = {}
    for path in public_dir.glob("Challenge_*.json"):
        data = json.loads(path.read_text())
        for p in data["problems"]:
            templates[p["problem_id"]] = p["code_template"]
            if p["problem_id"] in WITH_GOLDEN:
                p["answer_code"] = fill_template(p["code_template"], "0.25").replace("def answer", "def real_answer")
        (folder / path.name).write_text(json.dumps(data))
    return load_golden_set(folder), templates


def write_batch(run: RunFolder, epoch: int, codes: dict) -> None:
    batch = Batch(submissions=[Submission(problem_id=i, generated_code=f"```python\n{codes[i]}\n```", model="m",
                                          generation_config=GenerationFlags()) for i in PUBLIC_IDS],
                  batch_metadata={"epoch": epoch})
    write_json_atomic(run.batch_file(epoch), batch.model_dump(mode="json"))


def evaluator(server, tmp_path, **extra) -> EvaluatorConfig:
    return EvaluatorConfig(url=server.url, api_key_env=KEY_ENV, dry_run=False,
                           retry=RetryConfig(max_attempts=3, initial_wait=0.01, max_wait=0.05, max_retry_after=120.0,
                                             max_rate_limited=1),
                           ledger_path=str(tmp_path / "ledger.jsonl"), **extra)


def submit(cfg, run):
    return asyncio.run(submit_async(cfg, run, show_progress=False, echo=lambda s: None))


def test_the_pipeline_submitter_gets_graded_plain_and_streamed(public_like, tmp_path):
    golden, templates = public_like
    run = RunFolder(tmp_path / "run")
    epoch0 = {i: fill_template(t, "0.25") for i, t in templates.items()}
    write_batch(run, 0, epoch0)
    write_batch(run, 1, {**epoch0, "Challenge_6_main": fill_template(templates["Challenge_6_main"], "0.5")})
    with LocalGraderServer(golden, GraderConfig(problem_timeout=5.0), KEY) as server:
        out0 = submit(evaluator(server, tmp_path, epochs=[0]), run)
        out1 = submit(evaluator(server, tmp_path, epochs=[1], stream_progress=True), run)
        assert server.requests[1].query["stream_progress"] == ["true"]
        assert server.remaining == 8
    assert out0[0] == f"graded by a LOCAL grader: accuracy {3 / 70:.4f}"
    assert out1[1] == f"graded by a LOCAL grader: accuracy {2 / 70:.4f}"
    results = read_json(run.results_file)["epochs"]
    for epoch, correct in (("0", 3), ("1", 2)):
        result = results[epoch]
        assert result["accuracy"] == pytest.approx(correct / 70)
        assert result["local_grader"] is True and "not official" in result["note"]
        assert len(result["not_gradable"]) == 67 and "Challenge_1_main" not in result["not_gradable"]
        assert result["judge_error_count"] == 0
    assert results["1"]["problems"]["Challenge_6_main"] == {"status": "incorrect"}  # no reasons unless asked
    attempts = [a for a in read_jsonl(run.submissions_file) if a.get("state") != "in_flight"]
    assert [a["status"] for a in attempts] == [200, 200]
    assert attempts[0]["rate_limit"]["x-ratelimit-remaining"] == "9"


def test_client_errors_reach_the_submitter(public_like, example_dir, tmp_path, monkeypatch):
    golden, templates = public_like
    run = RunFolder(tmp_path / "run")
    write_batch(run, 0, {i: fill_template(t, "0.25") for i, t in templates.items()})
    with LocalGraderServer(golden, GraderConfig(daily_limit=0), KEY) as server:
        with pytest.raises(QuotaExhausted, match="resets at"):
            submit(evaluator(server, tmp_path), run)
        monkeypatch.setenv(KEY_ENV, "wrong")
        with pytest.raises(GraderError, match="(?s)HTTP 401.*key was refused"):
            submit(evaluator(server, tmp_path), run)
    monkeypatch.setenv(KEY_ENV, KEY)
    with LocalGraderServer(load_golden_set(example_dir), GraderConfig(), KEY) as server:
        # this grader's set is the example challenge: a public batch is not its set
        with pytest.raises(GraderError, match="(?s)HTTP 400.*local grader.s problem set.*missing 1"):
            submit(evaluator(server, tmp_path), run)
    attempts = [a for a in read_jsonl(run.submissions_file) if a.get("state") != "in_flight"]
    assert [a["status"] for a in attempts] == [429, 401, 400]
    assert int(attempts[0]["rate_limit"]["retry-after"]) > 23 * 3600
    assert all(a["body"]["local_grader"] is True for a in attempts)


def example_batch(golden, *, drop: int = 0) -> dict:
    subs = [{"problem_id": i, "generated_code": golden.problems[i].problem.answer_code.replace("real_answer", "answer"),
             "model": "m", "generation_config": GenerationFlags().model_dump()} for i in golden.ids()]
    return {"submissions": subs[drop:], "batch_metadata": {"note": "rehearsal"}}


def assert_local(response: httpx.Response) -> None:
    assert response.headers[MARKER_HEADER] == "local"
    lines = [json.loads(line) for line in response.text.splitlines() if line.strip()]
    assert lines and all(line["local_grader"] is True and "LOCAL CritPt grader" in line["note"] for line in lines)


def test_every_reply_says_it_is_local(example_dir, tmp_path):
    golden = load_golden_set(example_dir)
    with LocalGraderServer(golden, GraderConfig(daily_limit=2, show_reasons=True), KEY) as server, \
            httpx.Client(timeout=60) as http:
        ok = {"x-api-key": KEY}
        replies = {
            "404": http.post(server.root + "/api/v2/other", headers=ok, json={}),
            "404 GET": http.get(server.url, headers=ok),
            "401": http.post(server.url, headers={"x-api-key": "nope"}, json=example_batch(golden)),
            "400 body": http.post(server.url, headers=ok, content=b"not json"),
            "400 coverage": http.post(server.url, headers=ok, json=example_batch(golden, drop=1)),
            "200": http.post(server.url, headers=ok, json=example_batch(golden)),
            "200 stream": http.post(server.url + "?stream_progress=true", headers=ok, json=example_batch(golden)),
            "429": http.post(server.url, headers=ok, json=example_batch(golden)),
        }
        # the pipeline's client reads the local reply like the official one
        with JsonlAppender(tmp_path / "attempts.jsonl") as log:
            client = GraderClient(EvaluatorConfig(url=server.url), KEY, log, show_progress=False)
            server.remaining = 1
            result = asyncio.run(_post(client, example_batch(golden)))
    for name, response in replies.items():
        assert str(response.status_code) == name.split()[0], (name, response.text)
        assert_local(response)
    assert f"missing 1: {EXAMPLE_CHALLENGE}_main" in replies["400 coverage"].json()["error"]
    plain = replies["200"].json()
    assert plain["accuracy"] == 1.0 and plain["total"] == 1 and plain["problem_set"] == "example"
    assert plain["problems"][f"{EXAMPLE_CHALLENGE}_main"]["reason"].startswith("equal")
    assert replies["200"].headers["x-ratelimit-remaining"] == "1"
    events = [json.loads(line) for line in replies["200 stream"].text.splitlines()]
    assert replies["200 stream"].headers["content-type"] == "application/x-ndjson"
    assert [e["type"] for e in events] == ["status", "progress", "progress", "result"]
    assert events[-1]["payload"]["local_grader"] is True and events[-1]["payload"]["accuracy"] == 1.0
    limited = replies["429"]
    assert int(limited.headers["retry-after"]) > 23 * 3600
    assert {"error", "limit", "remaining", "reset", "retryAfter"} <= set(limited.json())
    assert limited.headers["x-ratelimit-remaining"] == "0" and "GMT+0000" in limited.headers["x-ratelimit-reset"]
    assert result.accuracy == 1.0 and result.model_extra["local_grader"] is True


async def _post(client: GraderClient, body: dict):
    async with httpx.AsyncClient(timeout=60) as http:
        return await client.post_once(http, json.dumps(body).encode(), 0, "hash", 1)


def test_serve_grader_runs_in_the_foreground_and_prints_its_url(example_dir):
    cfg = GraderConfig(problems=str(example_dir), port=0, api_key_env=KEY_ENV)
    lines, started, stop = [], [], threading.Event()
    thread = threading.Thread(target=serve_grader, args=(cfg,),
                              kwargs={"echo": lines.append, "stop": stop, "ready": started.append})
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not started and time.monotonic() < deadline:
            time.sleep(0.02)
        server = started[0]
        assert server.url in lines[0] and "NOT the official grader" in lines[0]
        assert "1 problems exactly once; 1 have golden answers" in lines[0]
        response = httpx.post(server.url, json={}, headers={"x-api-key": "nope"})
        assert response.status_code == 401 and response.headers[MARKER_HEADER] == "local"
        assert server.requests == []  # a long-running server keeps no request bodies
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()


def test_serve_grader_says_what_to_fix(example_dir, monkeypatch):
    with pytest.raises(ConfigError, match="grader.problems is not set"):
        serve_grader(GraderConfig())
    monkeypatch.delenv(KEY_ENV)
    with pytest.raises(MissingKeyError, match=KEY_ENV):
        serve_grader(GraderConfig(problems=str(example_dir), api_key_env=KEY_ENV))
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        server = LocalGraderServer(load_golden_set(example_dir), GraderConfig(), KEY)
        with pytest.raises(ConfigError, match="cannot listen on 127.0.0.1"):
            server.start_at("127.0.0.1", taken.getsockname()[1])
    finally:
        taken.close()


def test_the_grader_config_group_matches_its_schema():
    raw = OmegaConf.load(CONFIGS / "grader" / "default.yaml")
    assert "defaults" not in raw  # typed by the root schema it is merged onto, not by a `schema` option
    cfg = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(GraderConfig), raw))
    validate_grader(cfg)
    assert cfg.problems is None and cfg.host == "127.0.0.1" and cfg.daily_limit == 10
    for bad, key in (({"workers": 0}, "grader.workers"), ({"rtol": -1.0}, "grader.rtol"),
                     ({"problem_timeout": 0.0}, "grader.problem_timeout")):
        with pytest.raises(ConfigError, match=key):
            validate_grader(GraderConfig(**bad))


def test_fake_grader_is_a_configuration_of_the_same_contract():
    with FakeGrader(api_key=KEY, limit=1) as grader:
        assert isinstance(grader, EvaluateContract) and grader.url.endswith(FakeGrader.PATH)
        # an elapsed window is refilled
        grader.remaining = 0
        grader.reset_at = datetime.now(timezone.utc) - timedelta(seconds=1)
        body = {"submissions": [{"problem_id": i, "generated_code": "```python\nx\n```", "model": "m",
                                 "generation_config": {}} for i in PUBLIC_IDS], "batch_metadata": {}}
        response = httpx.post(grader.url, json=body, headers={"x-api-key": KEY})
        assert response.status_code == 200 and response.json()["accuracy"] == 1.0
        assert grader.remaining == 0 and grader.reset_at > datetime.now(timezone.utc) + timedelta(hours=23)
        assert MARKER_HEADER not in response.headers and "local_grader" not in response.json()
