"""Server-sent events read straight from the HTTP response the openai SDK returns.

Why not the SDK's AsyncStream: its per-event layers (decoder objects, an event object,
per-chunk processing) cost more client CPU than the rest of a streamed call at high
concurrency. The request itself still goes through the SDK (``cast_to=httpx.Response``,
its documented route for raw responses), so its headers, status errors and timeouts hold.
"""

from __future__ import annotations

import json
import sys
from typing import Any, AsyncIterator


async def events(response: Any) -> AsyncIterator[Any]:
    """The JSON data of each event until the body ends; comments (keep-alives), other fields
    and ``[DONE]`` skipped. A mid-stream ``{"error": ...}`` and a dropped or idle connection
    raise the openai SDK's own errors, so the retry policy treats them as it treats the SDK's."""
    import openai

    http = sys.modules[type(response).__module__.partition(".")[0]]  # httpx (or the SDK's httpx2)
    buffer = b""
    try:
        async for piece in response.aiter_bytes():
            buffer += piece.replace(b"\r\n", b"\n")  # a \r\n split across pieces is left as \r + \n
            while True:
                end = buffer.find(b"\n\n")
                if end < 0:
                    break
                block, buffer = buffer[:end], buffer[end + 2:]
                lines = [line[5:].removeprefix(b" ") for line in block.replace(b"\r", b"").split(b"\n")
                         if line.startswith(b"data:")]
                if not lines:
                    continue
                data = b"\n".join(lines)
                if data.startswith(b"[DONE]"):
                    continue  # read on to the end of the body, so the connection is reused
                item = json.loads(data)
                if isinstance(item, dict) and item.get("error"):
                    error = item["error"]
                    message = error.get("message") if isinstance(error, dict) else None
                    raise openai.APIError(message if isinstance(message, str) and message
                                          else "An error occurred during streaming", response.request, body=error)
                yield item
    except http.TimeoutException as exc:
        raise openai.APITimeoutError(request=response.request) from exc
    except http.TransportError as exc:
        raise openai.APIConnectionError(request=response.request) from exc
    finally:
        await response.aclose()
