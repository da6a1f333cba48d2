"""The data contracts between stages, in one place.

Generation records go to ``generations.jsonl``; batches and grading results are
the grader's wire format. Models that mirror a server's reply keep unknown
fields (``extra="allow"``) so a new field never breaks a run.
"""

from __future__ import annotations

from typing import Any, Dict, List, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field


def problem_order(problem_id: str) -> tuple:
    """The order problems are listed in: Challenge_2_main before Challenge_10_main, other ids after, by name."""
    import re

    m = re.match(r"^Challenge_(\d+)_", problem_id)
    return (0, int(m.group(1)), problem_id) if m else (1, 0, problem_id)


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


# Files the harness writes for itself --------------------------------------------------------------
# Each carries ``schema_version``. A reader (runfiles.read_run_file) refuses a file from a newer version,
# naming both, and brings an older one to today's shape with its model's ``upgrade`` (no shape has
# changed yet: version 1 files and unversioned ones, written before the stamp, read alike).
SCHEMA_VERSION = 1


class RunFile(BaseModel):
    """Base of the run folder's own files: unknown fields kept, the version checked."""

    model_config = ConfigDict(extra="allow")
    schema_version: int = SCHEMA_VERSION

    @classmethod
    def upgrade(cls, data: Dict[str, Any], version: int) -> Dict[str, Any]:
        """A file written at ``version`` (older than SCHEMA_VERSION) in today's shape; a model whose
        file changes shape overrides this."""
        return data

    def as_dict(self) -> Dict[str, Any]:
        """What the file holds (after any upgrade), for code that takes the plain JSON."""
        return self.model_dump(exclude_unset=True)


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class PromptsInfo(_Open):
    source: Optional[str] = None  # official | own
    hash: Optional[str] = None
    commit: Optional[str] = None


class DatasetInfo(_Open):
    """Which CritPt version a run's problems are and where they came from (data/problems.Origin)."""

    source: Optional[str] = None  # github | huggingface | path
    version: Optional[str] = None  # e.g. v1; None for a private set
    revision: Optional[str] = None  # the commit the problems are at (GitHub or Hugging Face), when known
    requested_revision: Optional[str] = None  # the branch or tag resolved to it
    verified: Optional[bool] = None  # checked against the version's checksums
    sha256: Optional[str] = None  # the dataset hash (as dataset_sha256)
    size: Optional[int] = None  # problems in the whole set (the M of "N of M")
    location: Optional[str] = None


class QueuedInfo(_Open):
    """Epochs waiting in the grading queue."""

    epochs: List[int] = Field(default_factory=list)
    queue: str = ""
    expected_last: Optional[str] = None


class SnapshotRef(_Open):
    dir: Optional[str] = None  # relative to the run folder
    taken_at: Optional[str] = None


class Manifest(RunFile):
    created_at: Optional[str] = None
    git_revision: Optional[str] = None
    packages: Dict[str, str] = Field(default_factory=dict)
    dataset_sha256: Optional[str] = None
    dataset: Optional[DatasetInfo] = None
    prompt_hash: Optional[str] = None
    prompts: Optional[PromptsInfo] = None
    config_hash: Optional[str] = None
    model: Optional[str] = None
    problem_ids: List[str] = Field(default_factory=list)
    public_set: Optional[bool] = None
    subset: Optional[Dict[str, Any]] = None
    commands: List[Dict[str, Any]] = Field(default_factory=list)
    catalog_snapshot: Optional[SnapshotRef] = None
    queued: Optional[QueuedInfo] = None
    score: Optional[Dict[str, Any]] = None  # the provenance label (see provenance.py)


class EpochGrade(_Open):
    """One graded epoch: the grader's reply (GradingResult) and where it came from."""

    accuracy: float
    timeout_rate: Optional[float] = None
    server_timeout_count: Optional[int] = None
    judge_error_count: Optional[int] = None
    content_hash: Optional[str] = None
    graded_at: Optional[str] = None
    source: str = ""
    url: Optional[str] = None
    # per problem: {status, reason}, from graders that give them (grade-local; serve-grader with reasons)
    problems: Dict[str, Any] = Field(default_factory=dict)


class ResultsFile(RunFile):
    """results.json: the submitter's grades per epoch, their summary and provenance."""

    epochs: Dict[str, EpochGrade] = Field(default_factory=dict)
    summary: Dict[str, Any] = Field(default_factory=dict)
    provenance: Dict[str, Any] = Field(default_factory=dict)


class LocalGradesFile(RunFile):
    """local_grades.json: grade-local's grades."""

    golden_set: Optional[str] = None
    local_grader: bool = True
    graded_at: Optional[str] = None  # when grade-local wrote the file (its epochs are not dated one by one)
    epochs: Dict[str, EpochGrade] = Field(default_factory=dict)
    summary: Dict[str, Any] = Field(default_factory=dict)


class ChecksFile(RunFile):
    """batches/epoch_N.checks.json: the pre-submission checks of one epoch."""

    problems: int = 0
    passed_all: int = 0
    passed_per_check: Dict[str, int] = Field(default_factory=dict)
    failures: Dict[str, List[str]] = Field(default_factory=dict)
    not_executable: List[str] = Field(default_factory=list)  # checked statically only
    isolation: List[str] = Field(default_factory=list)  # sandbox backends the execution checks ran under
    execution_skipped: Optional[str] = None  # why the execution checks did not run (no sandbox isolates here)


class SubmissionAttempt(RunFile):
    """A line of submissions.jsonl (and, with content_hash, of the ledger)."""

    epoch: Optional[int] = None
    state: Optional[str] = None
    attempt_id: Optional[str] = None
    url: Optional[str] = None


class ToolCallSummary(BaseModel):
    """What a summary keeps of a record's tool call (one of GenerationRecord.tool_calls): where it
    ran and how long it took; its code and output are skipped unbuilt."""

    model_config = ConfigDict(extra="ignore")
    isolation: Optional[str] = None
    duration_s: Optional[float] = None


class RecordSummary(BaseModel):
    """The fields of a GenerationRecord (same names and types) that a summary of a run needs: read
    with ``model_validate_json``, the long texts of a line are skipped without becoming Python objects."""

    model_config = ConfigDict(extra="ignore")
    schema_version: Optional[int] = None  # generations.jsonl lines are not stamped yet; a newer one is refused
    problem_id: str
    epoch: int
    status: Literal["ok", "failed"]
    usage: Usage = Field(default_factory=Usage)
    checks: List[CheckResult] = Field(default_factory=list)
    tool_calls: List[ToolCallSummary] = Field(default_factory=list)
    web_searches: int = 0
    started_at: str
    finished_at: str
    duration_s: float


class AnswerRecord(BaseModel):
    """The fields of a GenerationRecord (same names and types) that a batch and its checks need:
    read with ``model_validate_json``, the conversation, reasoning and tool calls are skipped unbuilt."""

    model_config = ConfigDict(extra="ignore")
    schema_version: Optional[int] = None
    problem_id: str
    epoch: int
    status: Literal["ok", "failed"]
    model: str
    parsing: bool
    replies: List[str] = Field(default_factory=list)
    extracted_code: Optional[str] = None
    checks: List[CheckResult] = Field(default_factory=list)
    started_at: str
    finished_at: str
    duration_s: float


# The run folder's own files by name (the ledger, named by evaluator.ledger_path, is versioned by
# submission.ledger.Ledger itself; its lines are SubmissionAttempt too).
RUN_FILES: Dict[str, type] = {"manifest.json": Manifest, "results.json": ResultsFile,
                              "local_grades.json": LocalGradesFile, "checks.json": ChecksFile,
                              "submissions.jsonl": SubmissionAttempt}
