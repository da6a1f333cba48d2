"""The data contracts between stages, in one place.

Generation records go to ``generations.jsonl``; batches and grading results are
the grader's wire format. Models that mirror a server's reply keep unknown
fields (``extra="allow"``) so a new field never breaks a run.
"""

from __future__ import annotations

from typing import Any, Dict, List, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    total_tokens: int = 0

    def __add__(self, other: "Usage") -> "Usage":
        return Usage(**{k: getattr(self, k) + getattr(other, k) for k in Usage.model_fields})


class CheckResult(BaseModel):
    name: str
    passed: bool
    message: str = ""


class TurnTiming(BaseModel):
    """One model call (a protocol turn may take several when the model uses tools)."""

    turn: int = 1
    latency_s: float
    attempts: int = 1
    tool_calls: int = 0
    finish_reason: Optional[str] = None


class GenerationRecord(BaseModel):
    """One (problem, epoch): everything needed to audit or rebuild a submission."""

    problem_id: str
    epoch: int
    status: Literal["ok", "failed"]
    model: str
    parsing: bool
    messages: List[Dict[str, Any]] = Field(default_factory=list)
    replies: List[str] = Field(default_factory=list)
    reasoning: List[Optional[str]] = Field(default_factory=list)
    extracted_code: Optional[str] = None
    checks: List[CheckResult] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    turns: List[TurnTiming] = Field(default_factory=list)
    # Every tool call with its code, output, exit code, time-out and truncation flags.
    tool_calls: List[Dict[str, Any]] = Field(default_factory=list)
    web_searches: int = 0
    started_at: str
    finished_at: str
    duration_s: float
    error: Optional[str] = None
    # Set when the error cannot heal by retrying (a refused key, an unknown model, an unreachable host).
    fatal: Optional[str] = None
    # What happened that a reader should know, e.g. an empty first reply that went on to the parse turn.
    notes: List[str] = Field(default_factory=list)
    prompt_hash: str = ""

    @property
    def key(self) -> tuple[str, int]:
        return (self.problem_id, self.epoch)

    @property
    def checks_passed(self) -> bool:
        return all(c.passed for c in self.checks)


class GenerationFlags(BaseModel):
    """`generation_config` of every submission: exactly the official keys."""

    model_config = ConfigDict(extra="forbid")

    use_golden_for_prev_steps: bool = False
    parsing: bool = False
    multiturn_with_answer: bool = False
    use_python: bool = False
    use_web_search: bool = False


class Submission(BaseModel):
    problem_id: str
    generated_code: str
    model: str
    generation_config: GenerationFlags
    messages: Optional[List[Dict[str, Any]]] = None


class Batch(BaseModel):
    """The body POSTed to the grader: one epoch, every public problem once."""

    submissions: List[Submission]
    batch_metadata: Dict[str, Any] = Field(default_factory=dict)


class GradingResult(BaseModel):
    """The grader's success reply (aggregates only)."""

    model_config = ConfigDict(extra="allow")

    accuracy: float
    timeout_rate: float = 0.0
    server_timeout_count: int = 0
    judge_error_count: int = 0
