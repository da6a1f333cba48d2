"""The model clients' network I/O on asyncio's transports (critpt_harness.netio), through the real
client stack (openai SDK -> httpx -> httpcore's pool -> netio) against loopback servers: plain and
TLS, kept-alive and closed connections, timeouts, large replies, and the proxy fallback."""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import json
import os
import queue
import re
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Dict, List, Set, Tuple

import openai
import pytest

from critpt_harness import failures, netio
from critpt_harness.http import ShardedTransport, sdk_http_client

BODY = {"model": "m", "messages": [{"role": "user", "content": "Say hi."}]}


class Server:
    """A minimal HTTP/1.1 server on 127.0.0.1 (optionally TLS) in the test's own event loop: it
    answers each request with ``reply`` after ``delay`` s, and closes the connection after each
    reply (without saying so) when ``close`` is set."""

    def __init__(self, reply: Dict[str, Any], delay: float = 0.0, close: bool = False,
                 tls: "ssl.SSLContext | None" = None):
        self.reply, self.delay, self.close, self.tls = reply, delay, close, tls
        self.connections = 0
        self.heads: List[bytes] = []
        self.requests: List[bytes] = []
        self.open: Set[asyncio.StreamWriter] = set()

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0, ssl=self.tls)
        port = self.server.sockets[0].getsockname()[1]
        return f"{'https' if self.tls else 'http'}://localhost:{port}/v1"

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()
        for writer in self.open:  # a reply still being waited for when the test ends
            writer.transport.abort()
        await asyncio.sleep(0)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.heads.append(head)
                length = re.search(rb"(?im)^content-length: *(\d+)", head)
                self.requests.append(await reader.readexactly(int(length.group(1)) if length else 0))
                await asyncio.sleep(self.delay)
                payload = json.dumps(self.reply).encode()
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                             b"content-length: %d\r\n\r\n%s" % (len(payload), payload))
                await writer.drain()
                if self.close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        self.open.discard(writer)
        writer.close()


class ThreadServer:
    """A Server (or a raw ``handle``) in a thread with its own event loop, so it closes and answers
    while the client's loop is busy."""

    def __init__(self, server: Any):
        self.server = server

    def __enter__(self) -> str:
        ready: "queue.Queue[str]" = queue.Queue()

        async def serve() -> None:
            self.loop, self.stop = asyncio.get_running_loop(), asyncio.Event()
            async with self.server as url:
                ready.put(url)
                await self.stop.wait()

        self.thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
        self.thread.start()
        return ready.get(timeout=10)

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(10)


class Silent:
    """A server that accepts connections and never reads or answers (a stalled peer)."""

    async def __aenter__(self) -> str:
        self.held: List[asyncio.StreamWriter] = []

        async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.held.append(writer)

        self.server = await asyncio.start_server(hold, "127.0.0.1", 0)
        return f"http://localhost:{self.server.sockets[0].getsockname()[1]}/v1"

    async def __aexit__(self, *exc: object) -> None:
        for writer in self.held:
            writer.transport.abort()
        self.server.close()
        await asyncio.sleep(0)


def _open_sockets() -> int:
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
        except OSError:  # the listing's own descriptor, closed by now
            pass
    return count


def chat_reply(content: str) -> Dict[str, Any]:
    return {"id": "c", "object": "chat.completion", "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}]}


def sdk(url: str, **kwargs: Any) -> "openai.AsyncOpenAI":
    return openai.AsyncOpenAI(api_key="k", base_url=url, max_retries=0, http_client=sdk_http_client(openai),
                              **kwargs)


def backends(client: "openai.AsyncOpenAI") -> List[Any]:
    transport = client._client._transport
    assert isinstance(transport, ShardedTransport)
    return [type(pool._pool._network_backend) for pool in transport.transports]


def _small_read_buffer(monkeypatch: pytest.MonkeyPatch) -> List[int]:
    """netio.READ_LIMIT made small enough that a large reply pauses reading: how often it did."""
    monkeypatch.setattr(netio, "READ_LIMIT", 16 * 1024)
    paused = [0]
    real = netio._Protocol.data_received

    def received(self: Any, data: bytes) -> None:
        was = self.reading
        real(self, data)
        paused[0] += was and not self.reading

    monkeypatch.setattr(netio._Protocol, "data_received", received)
    return paused


def _count_tls_contexts(monkeypatch: pytest.MonkeyPatch) -> List[int]:
    """How many TLS contexts with the CA certificates loaded the model clients make."""
    http = importlib.import_module(_httpcore().__name__.replace("httpcore", "httpx"))
    made = [0]
    real = http.create_ssl_context

    def counted(*args: Any, **kwargs: Any) -> Any:
        made[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(http, "create_ssl_context", counted)
    return made


def test_sequential_requests_reuse_one_connection_over_the_asyncio_backend(monkeypatch: pytest.MonkeyPatch):
    made = _count_tls_contexts(monkeypatch)

    async def go() -> Tuple[List[Any], List[Any], int]:
        server = Server(chat_reply("hi"))
        async with server as url:
            client = sdk(url)
            replies = [await client.post("/chat/completions", cast_to=object, body=BODY) for _ in range(3)]
            used = backends(client)
            await client.close()
        return replies, used, server.connections

    replies, used, connections = asyncio.run(go())
    assert [r["choices"][0]["message"]["content"] for r in replies] == ["hi"] * 3
    assert used == [netio.Backend]  # httpcore's pool does its I/O here, not through anyio
    assert connections == 1  # kept alive between requests
    assert made == [0]  # plain http: no CA certificates loaded (30-50 ms)


def test_a_connection_the_server_closed_while_idle_is_not_reused():
    async def go() -> Tuple[List[Any], int]:
        server = Server(chat_reply("again"), close=True)
        async with server as url:
            client = sdk(url)
            replies = []
            for _ in range(3):
                replies.append(await client.post("/chat/completions", cast_to=object, body=BODY))
                await asyncio.sleep(0.05)  # the server's close has arrived by the next request
            await client.close()
        return replies, server.connections

    replies, connections = asyncio.run(go())
    assert len(replies) == 3 and connections == 3


def test_a_connection_closed_while_the_clients_loop_was_busy_is_not_reused():
    """The server's close may still sit in the kernel when the connection is next wanted: the socket
    itself is asked, not only what the loop has read."""
    server = Server(chat_reply("fresh"), close=True)
    with ThreadServer(server) as url:
        async def go() -> List[Any]:
            client = sdk(url)
            replies = []
            for _ in range(3):
                replies.append(await client.post("/chat/completions", cast_to=object, body=BODY))
                time.sleep(0.2)  # busy (no await): the loop reads nothing meanwhile
            await client.close()
            return replies

        replies = asyncio.run(go())
    assert len(replies) == 3 and server.connections == 3


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts open sockets in /proc/self/fd (Linux)")
def test_an_upload_to_a_server_that_stopped_reading_times_out_and_frees_its_socket():
    async def go() -> int:
        before = _open_sockets()
        async with Silent() as url:
            client = sdk(url, timeout=openai.Timeout(5.0, write=0.3, connect=5.0))
            with pytest.raises(openai.APITimeoutError):
                await client.post("/chat/completions", cast_to=object, body={**BODY, "pad": "z" * (16 << 20)})
            await client.close()
            await asyncio.sleep(0.1)
            return _open_sockets() - before  # the listener and the server's end stay: 2

    assert asyncio.run(go()) <= 2


async def _seconds_to_timeout(url: str, timeout: "openai.Timeout") -> float:
    """How long a call takes to fail with the SDK's timeout error (it must fail so)."""
    client = sdk(url, timeout=timeout)
    start = time.perf_counter()
    try:
        with pytest.raises(openai.APITimeoutError):
            await client.post("/chat/completions", cast_to=object, body=BODY)
        return time.perf_counter() - start
    finally:
        await client.close()


def test_a_tls_handshake_that_never_ends_is_a_timeout():
    async def go() -> float:
        async with Silent() as url:
            return await _seconds_to_timeout(url.replace("http://", "https://"), openai.Timeout(5.0, connect=0.5))

    assert asyncio.run(go()) < 3.0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs 127.0.0.2 on the loopback (Linux)")
def test_a_host_whose_every_address_refuses_is_unreachable(monkeypatch: pytest.MonkeyPatch):
    """asyncio says so as one OSError without an errno; failures.classify must still see a refusal
    (fail fast, no retries), as with a single address."""
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    real = socket.getaddrinfo

    def two_addresses(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "dual.test":
            return real(host, *args, **kwargs)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)) for address in ("127.0.0.1", "127.0.0.2")]

    monkeypatch.setattr(socket, "getaddrinfo", two_addresses)

    async def go() -> BaseException:
        client = sdk(f"http://dual.test:{port}/v1")
        try:
            with pytest.raises(openai.APIConnectionError) as caught:
                await client.post("/chat/completions", cast_to=object, body=BODY)
        finally:
            await client.close()
        return caught.value

    error = asyncio.run(go())
    assert "every address" in str(error.__cause__)
    assert failures.unreachable(error) and failures.classify(error).kind == "unreachable"


def test_a_reply_slower_than_the_read_timeout_is_the_sdks_timeout_error():
    async def go() -> float:
        async with Server(chat_reply("late"), delay=3.0) as url:
            return await _seconds_to_timeout(url, openai.Timeout(0.3, connect=5.0))

    assert asyncio.run(go()) < 2.0


def test_a_reply_larger_than_the_read_buffer_arrives_whole(monkeypatch: pytest.MonkeyPatch):
    paused = _small_read_buffer(monkeypatch)
    big = "x" * (2 * 1024 * 1024 + 17)

    async def go() -> Any:
        async with Server(chat_reply(big)) as url:
            client = sdk(url, timeout=openai.Timeout(10.0, connect=5.0))
            reply = await client.post("/chat/completions", cast_to=object, body={**BODY, "pad": big})
            await client.close()
        return reply

    assert asyncio.run(go())["choices"][0]["message"]["content"] == big
    assert paused[0] > 0  # reading paused on the way, and resumed


def test_bytes_already_received_are_read_and_a_write_the_socket_takes_returns_without_yielding():
    """What the backend is for: anyio's streams yield to the event loop on every send and receive."""
    class Transport(asyncio.Transport):
        def __init__(self) -> None:
            super().__init__()
            self.sent: List[bytes] = []

        def write(self, data: Any) -> None:
            self.sent.append(bytes(data))

        def is_closing(self) -> bool:
            return False

    protocol = netio._Protocol()
    transport = Transport()
    protocol.connection_made(transport)
    protocol.data_received(b"HTTP/1.1 200 OK\r\n")
    stream = netio.Stream(_httpcore(), protocol)

    def at_once(coroutine: Any) -> Any:
        with pytest.raises(StopIteration) as done:
            coroutine.send(None)  # a coroutine that suspended would return here instead
        return done.value.value

    assert at_once(stream.read(65536)) == b"HTTP/1.1 200 OK\r\n"
    assert at_once(stream.write(b"GET / HTTP/1.1\r\n\r\n")) is None and transport.sent == [b"GET / HTTP/1.1\r\n\r\n"]
    protocol.eof_received()
    assert at_once(stream.read(65536, timeout=1.0)) == b""  # the server closed: the end, at once


def _httpcore() -> Any:
    """The httpcore module the SDK's httpx uses (httpcore2 under later SDKs)."""
    return importlib.import_module("httpcore2" if importlib.util.find_spec("httpcore2") else "httpcore")


def _certificate(folder: Path) -> Tuple[Path, Path]:
    """A self-signed certificate for localhost (the cryptography package, or the openssl command)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    try:
        import datetime

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError:
        if shutil.which("openssl") is None:
            pytest.skip("needs the cryptography package or the openssl command to make a test certificate")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                        "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
        return cert, key
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(private.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(private, hashes.SHA256()))
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return cert, key


def test_tls_is_verified_and_kept_alive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    cert, key = _certificate(tmp_path)
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.load_cert_chain(cert, key)

    async def go() -> Tuple[Any, int]:
        server = Server(chat_reply("secret"), tls=served)
        async with server as url:
            client = sdk(url)
            try:
                replies = [await client.post("/chat/completions", cast_to=object, body=BODY) for _ in range(2)]
                assert backends(client) == [netio.Backend]
            finally:
                await client.close()
        return replies, server.connections

    with pytest.raises(openai.APIConnectionError):  # a certificate nobody vouches for is refused
        asyncio.run(go())
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client's trust store: httpx reads it
    made = _count_tls_contexts(monkeypatch)
    replies, connections = asyncio.run(go())
    assert made == [1]
    assert [r["choices"][0]["message"]["content"] for r in replies] == ["secret"] * 2
    assert connections == 1

    paused = _small_read_buffer(monkeypatch)
    big = "y" * (2 * 1024 * 1024)  # reading pauses and resumes through the TLS layer

    async def large() -> Any:
        async with Server(chat_reply(big), tls=served) as url:
            client = sdk(url, timeout=openai.Timeout(10.0, connect=5.0))
            try:
                return await client.post("/chat/completions", cast_to=object, body=BODY)
            finally:
                await client.close()

    assert asyncio.run(large())["choices"][0]["message"]["content"] == big
    assert paused[0] > 0


def test_a_proxy_named_in_the_environment_is_used(monkeypatch: pytest.MonkeyPatch):
    """httpx reads HTTP(S)_PROXY only for a transport it builds itself: there the SDK's own is kept."""
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "HTTPS_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)

    async def go() -> Tuple[Any, List[bytes]]:
        proxy = Server(chat_reply("via the proxy"))
        async with proxy as url:
            monkeypatch.setenv("HTTP_PROXY", url.removesuffix("/v1"))
            client = sdk("http://llm.invalid/v1")  # no such host: only the proxy can answer
            try:
                assert not isinstance(client._client._transport, ShardedTransport)
                reply = await client.post("/chat/completions", cast_to=object, body=BODY)
            finally:
                await client.close()
        return reply, proxy.heads

    reply, heads = asyncio.run(go())
    assert reply["choices"][0]["message"]["content"] == "via the proxy"
    assert heads[0].startswith(b"POST http://llm.invalid/v1/chat/completions ")  # a proxy's request form


@pytest.mark.skipif(not hasattr(asyncio, "timeout"), reason="Python 3.10: asyncio.wait_for's race remains there")
def test_a_cancellation_as_the_awaited_call_completes_is_not_swallowed():
    """Ctrl-C cancels the run's task; arriving just as the preflight (or a connect) completes, it must
    still stop the run. asyncio.wait_for before 3.12 returned the result and dropped the cancellation."""
    from critpt_harness.config import ModelConfig
    from critpt_harness.generation.models.openai_base import preflight

    async def cancelled_as_it_answers(run: Any) -> str:
        outer = asyncio.current_task()
        assert outer is not None

        async def answer() -> str:
            outer.cancel()  # the signal arrives now; the call completes in the same step
            return "answered"

        got = await run(answer)
        try:
            await asyncio.sleep(0)
        except asyncio.CancelledError:
            return f"{got}, then stopped"
        return f"{got}, and went on"

    assert asyncio.run(cancelled_as_it_answers(lambda f: netio.within(f(), 5))) == "answered, then stopped"

    class Model:
        async def probe(self) -> None:
            await self.answer()

    async def through_preflight(answer: Any) -> str:
        model = Model()
        model.answer = answer  # type: ignore[attr-defined]
        note = await preflight(model, ModelConfig(name="m", provider="openai_compatible"))  # type: ignore[arg-type]
        return "answered" if note is None else str(note)

    assert asyncio.run(cancelled_as_it_answers(through_preflight)) == "answered, then stopped"
