"""Run a fake LLM or grader in the foreground on 127.0.0.1 (benchmarks, offline rehearsal):

    python -m tests.fakes.serve llm --latency 0.5     # prints its base URL, Ctrl-C stops it
    python -m tests.fakes.serve grader --api-key KEY
"""

from __future__ import annotations

import argparse
import threading
from typing import Union

from .grader import FakeGrader
from .llm import FakeLLMServer


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("kind", choices=["llm", "grader"])
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per LLM reply")
    parser.add_argument("--tool-rounds", type=int, default=1, help="python tool calls per item, when offered")
    parser.add_argument("--api-key", default="grader-key", help="key the fake grader accepts")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 = a free one)")
    args = parser.parse_args()
    server: Union[FakeLLMServer, FakeGrader] = (FakeLLMServer(latency=args.latency, tool_rounds=args.tool_rounds) if args.kind == "llm"
                                                 else FakeGrader(api_key=args.api_key))
    server.keep_requests = False  # served in the foreground, nobody reads them
    server.start(args.port)
    print(server.url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
