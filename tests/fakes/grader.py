"""A fake CritPt grader: the evaluate endpoint's contract (critpt_harness.grading.contract,
the same functions serve-grader answers with) with a stand-in grade."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any, Callable, Dict, List, Optional

from critpt_harness.grading.contract import EvaluateContract, answer
from critpt_harness.grading.web import evaluate_call
from critpt_harness.data.problems import PUBLIC_IDS

from .base import FakeServer, Reply, Request


class FakeGrader(EvaluateContract, FakeServer):
    """The CritPt evaluate endpoint: key check, exact coverage, a daily quota
    (only 200 counts), rate-limit headers, plain JSON or an NDJSON stream; here a
    batch's accuracy is the share of submissions for which ``grade(submission)`` is true."""

    def __init__(self, api_key: str = "grader-key", limit: int = 10, ids: tuple = PUBLIC_IDS,
                 grade: Optional[Callable[[Dict[str, Any]], bool]] = None, grading_time: float = 0.0,
                 forbidden: bool = False, window: Optional[timedelta] = None):
        super().__init__()
        self.setup_contract(api_key=api_key, limit=limit, ids=ids, forbidden=forbidden,
                            window=window or timedelta(hours=24))
        self.grade = grade or (lambda s: "```python" in s.get("generated_code", ""))
        self.grading_time = grading_time

    @property
    def url(self) -> str:
        return self.root + self.PATH

    async def evaluate(self, submissions: List[Dict[str, Any]], body: Dict[str, Any]) -> Dict[str, Any]:
        if self.grading_time:
            await asyncio.sleep(self.grading_time)
        correct = sum(1 for s in submissions if self.grade(s))
        return {"accuracy": correct / len(submissions), "timeout_rate": 0.0, "server_timeout_count": 0,
                "judge_error_count": 0}

    async def respond(self, req: Request) -> Reply:
        reply = await answer(self, evaluate_call(req))
        return Reply(status=reply.status, payload=reply.body, lines=reply.events, headers=reply.headers)
