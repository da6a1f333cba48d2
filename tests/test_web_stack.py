"""The web stack under serve-grader and the fakes (uvicorn + Starlette): the contract's
400 names the field at fault, a dropped fault sends not a byte, and stop() cuts off a
request in flight at once instead of answering it."""

import socket
import threading
import time

import httpx
import pytest

from critpt_harness.data.problems import PUBLIC_IDS
from tests.fakes.base import Fault
from tests.fakes.grader import FakeGrader
from tests.fakes.llm import FakeLLMServer


def test_an_invalid_batch_is_refused_naming_the_field():
    subs = [{"problem_id": i, "generated_code": "x", "model": "m", "generation_config": {}} for i in PUBLIC_IDS]
    del subs[3]["generated_code"]
    with FakeGrader(api_key="k") as grader:
        missing = httpx.post(grader.url, json={"submissions": subs, "batch_metadata": {}}, headers={"x-api-key": "k"})
        no_meta = httpx.post(grader.url, json={"submissions": subs[:3]}, headers={"x-api-key": "k"})
        assert grader.remaining == grader.limit  # a refused batch uses no quota
    assert missing.status_code == 400 and "submissions.3.generated_code: Field required" in missing.json()["error"]
    assert no_meta.status_code == 400 and "batch_metadata: Field required" in no_meta.json()["error"]


def test_a_dropped_fault_closes_the_connection_without_a_reply():
    with FakeLLMServer() as llm:
        llm.inject(Fault.dropped())
        port = int(llm.root.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n")
            assert sock.recv(100) == b""
        assert httpx.get(llm.url + "/models").status_code == 200  # the next request is answered


def test_stop_cuts_off_a_request_in_flight():
    llm = FakeLLMServer(latency=30).start()
    errors = []

    def call():
        try:
            httpx.post(llm.url + "/chat/completions", json={"model": "m", "messages": []}, timeout=20)
        except httpx.HTTPError as exc:
            errors.append(exc)

    thread = threading.Thread(target=call)
    thread.start()
    deadline = time.monotonic() + 10
    while llm.in_flight == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    llm.stop()
    thread.join(10)
    assert time.monotonic() - started < 3 and len(errors) == 1
    assert isinstance(errors[0], httpx.RemoteProtocolError)  # no reply at all, not a 500
    with pytest.raises(httpx.ConnectError):  # nothing listens there any more
        httpx.get(llm.url + "/models")
