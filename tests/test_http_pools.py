"""The model clients' transport: connection pools of POOL_SIZE, each request through the least busy
one, over a real loopback server and the openai SDK (the client stack a run uses)."""

from __future__ import annotations

import asyncio

import openai
import pytest

from critpt_harness.http import POOL_SIZE, sdk_http_client
from tests.fakes.llm import FakeLLMServer

BODY = {"model": "m", "messages": [{"role": "user", "content": "Say hi."}]}


def sdk(url: str) -> "openai.AsyncOpenAI":
    return openai.AsyncOpenAI(api_key="k", base_url=url, max_retries=0, http_client=sdk_http_client(openai))


def test_concurrent_requests_all_reach_the_server_at_once_over_small_pools():
    n = 3 * POOL_SIZE + 1

    async def go(url: str):
        client = sdk(url)
        transport = client._client._transport  # the transport sdk_http_client installed
        replies = await asyncio.gather(*(client.post("/chat/completions", cast_to=object, body=BODY)
                                         for _ in range(n)))
        pools, busy = transport.pools, transport.busy
        await client.close()
        return replies, pools, busy

    with FakeLLMServer(latency=0.3) as server:
        replies, pools, busy = asyncio.run(go(server.url))
        assert server.max_in_flight == n  # none waited for a connection another pool had free
    assert all(r["choices"][0]["message"]["content"] for r in replies)
    assert pools == -(-n // POOL_SIZE)  # as few pools as hold them
    assert busy == 0  # every response closed released its slot


def test_a_streamed_reply_holds_its_slot_until_it_is_closed_and_a_failure_frees_it():
    async def go(url: str):
        client = sdk(url)
        transport = client._client._transport
        stream = await client.post("/chat/completions", cast_to=openai.AsyncStream[object],
                                   body={**BODY, "stream": True}, stream=True,
                                   stream_cls=openai.AsyncStream[object])
        held = transport.busy
        await stream.close()
        after = transport.busy
        dead = sdk("http://127.0.0.1:9/v1")  # nothing listens: the connection is refused
        with pytest.raises(openai.APIConnectionError):
            await dead.post("/chat/completions", cast_to=object, body=BODY)
        refused = dead._client._transport.busy
        await client.close()
        await dead.close()
        return held, after, refused

    with FakeLLMServer(latency=0.05) as server:
        held, after, refused = asyncio.run(go(server.url))
    assert (held, after, refused) == (1, 0, 0)
