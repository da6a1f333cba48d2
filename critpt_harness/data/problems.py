"""Load and validate the CritPt problems, from the source ``dataset.source`` names, and check
them against the chosen version (``dataset.version``, data/versions/).

The tool knows each version's ids and checksums on its own, so a missing or extra
problem, or one whose text differs, is caught before any work.
"""

from __future__ import annotations

import ast
import json
import logging
import re
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any, Dict, List, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..contracts import problem_order
from ..errors import DatasetError
from ..runs import canonical_sha256
from . import versions
from .versions import PUBLIC_IDS, BenchmarkVersion

log = logging.getLogger(__name__)

__all__ = ["PUBLIC_IDS", "Problem", "ProblemSet", "Origin", "load_directory", "select"]
FILE_PATTERN = re.compile(r"^Challenge_(\d+)\.json$")
# Written by `critpt-harness data pull data.dir=...` beside the files: where they came from.
SOURCE_FILE = "critpt-source.json"


class Problem(BaseModel):
    """One problem of a challenge file (official schema; extra fields kept)."""

    model_config = ConfigDict(extra="allow")

    problem_id: str = Field(min_length=1)
    problem_type: str = "main"
    problem_index: Optional[int] = None
    problem_description: str = Field(min_length=1)
    code_template: str = Field(min_length=1)
    answer_code: Optional[str] = None
    answer_only_code: Optional[str] = None
    testcases: Any = None
    metadata: Dict[str, Any] = Field(default_factory=dict)
    # The challenge (file's dataset_name) a problem belongs to; set when loading.
    challenge: Optional[str] = None

    @field_validator("code_template")
    @classmethod
    def _template_defines_answer(cls, value: str) -> str:
        try:
            tree = ast.parse(value)
        except SyntaxError as exc:
            raise ValueError(f"is not valid Python ({exc.msg}, line {exc.lineno})") from exc
        answers = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "answer"]
        if len(answers) != 1:
            raise ValueError("must define exactly one top-level `def answer(...)`")
        return value

    @cached_property
    def answer_args(self) -> List[str]:
        """Argument names of the template's ``answer`` function, in order."""
        tree = ast.parse(self.code_template)
        fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "answer")
        return [a.arg for a in fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs]


class ChallengeFile(BaseModel):
    model_config = ConfigDict(extra="allow")

    dataset_name: str
    source_notebook: Optional[str] = None
    problems: List[Problem] = Field(min_length=1)


@dataclass(frozen=True)
class Origin:
    """Which version a set is and where it came from: recorded in the manifest (``dataset``)."""

    source: str  # github | huggingface | path
    version: Optional[str] = None  # None: a private set
    revision: Optional[str] = None  # the commit the files are at (GitHub or Hugging Face), when known
    requested: Optional[str] = None  # the branch or tag that was resolved to ``revision``
    verified: Optional[bool] = None  # matches the version's checksums; None: not checked (private set)
    differ: tuple[str, ...] = ()  # problems whose text is not the version's
    location: str = ""  # URL template, repository or folder

    def manifest(self, problem_set: "ProblemSet") -> Dict[str, Any]:
        out: Dict[str, Any] = {"source": self.source, "version": self.version, "revision": self.revision,
                               "verified": self.verified, "sha256": problem_set.sha256,
                               "size": problem_set.full_size or len(problem_set), "location": self.location}
        if self.requested:
            out["requested_revision"] = self.requested
        if self.differ:
            out["differ"] = list(self.differ)
        return out


@dataclass(frozen=True)
class ProblemSet:
    problems: tuple[Problem, ...]
    source: str
    sha256: str
    public: bool = True
    full_size: Optional[int] = None  # problems in the whole set when this is a subset (dataset.ids/limit)
    origin: Optional[Origin] = None

    @property
    def subset(self) -> bool:
        return self.full_size is not None

    @property
    def ids(self) -> List[str]:
        return [p.problem_id for p in self.problems]

    def units(self) -> List[List[Problem]]:
        """What one conversation answers: a main problem alone, or a challenge's
        sub-problem checkpoints in order (one multi-turn conversation)."""
        singles = [[p] for p in self.problems if p.problem_type == "main"]
        chains: Dict[str, List[Problem]] = {}
        for p in self.problems:
            if p.problem_type != "main":
                chains.setdefault(p.challenge or p.problem_id, []).append(p)
        ordered = [sorted(c, key=lambda p: (p.problem_index is None, p.problem_index or 0)) for c in chains.values()]
        return singles + ordered

    def __len__(self) -> int:
        return len(self.problems)


def _format_validation_error(path: Path, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = ""
        for part in err["loc"]:
            loc += f"[{part}]" if isinstance(part, int) else (f".{part}" if loc else str(part))
        lines.append(f"  {loc or '(file)'}: {err['msg']}")
    return f"{path}: invalid challenge file\n" + "\n".join(lines)


def parse_challenge_file(path: Path, raw: bytes) -> ChallengeFile:
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: not valid JSON ({exc}). Re-download it or fix the file.") from exc
    try:
        return ChallengeFile.model_validate(data)
    except ValidationError as exc:
        raise DatasetError(_format_validation_error(path, exc)) from exc


def same_problem_key(problem: Problem) -> str:
    """Everything but the id and the source notebook: copies of one problem differ only in those."""
    data = problem.model_dump(mode="json", exclude={"problem_id", "challenge"})
    data["metadata"] = {k: v for k, v in (data.get("metadata") or {}).items() if k != "notebook_path"}
    return canonical_sha256(data)


def without_copies(files: Dict[Path, ChallengeFile]) -> Dict[Path, ChallengeFile]:
    """Drop files whose every problem is already in another file (e.g. CritPt's example ships the
    challenge and its main problem alone as X.json and X_main.json): the fuller file wins."""
    order = sorted(files, key=lambda p: (-len(files[p].problems), p.name))
    kept: Dict[Path, ChallengeFile] = {}
    known: Dict[str, Path] = {}
    for path in order:
        keys = [same_problem_key(p) for p in files[path].problems]
        # Renamed copies only: the same id twice stays an error (the callers say where).
        if keys and all(k in known for k in keys) and not any(
                p.problem_id in {q.problem_id for q in files[known[k]].problems}
                for p, k in zip(files[path].problems, keys)):
            log.warning("%s: every problem in it is also in %s; loaded once, from there", path, known[keys[0]])
            continue
        kept[path] = files[path]
        for k in keys:
            known.setdefault(k, path)
    return {p: kept[p] for p in files if p in kept}


def _select_problems(files: Dict[Path, ChallengeFile], checkpoints: bool = False) -> List[Problem]:
    """The main problems (and, with ``checkpoints``, the sub-problems) of the files."""
    problems: List[Problem] = []
    seen: Dict[str, Path] = {}
    for path, challenge in files.items():
        for problem in challenge.problems:
            if problem.problem_type != "main" and not checkpoints:
                continue
            problem.challenge = challenge.dataset_name
            if problem.problem_id in seen:
                raise DatasetError(
                    f"{path}: problem_id {problem.problem_id!r} also appears in {seen[problem.problem_id]}"
                )
            seen[problem.problem_id] = path
            problems.append(problem)
    return problems


def problems_from_rows(rows: List[Dict[str, Any]], where: str) -> List[Problem]:
    """Problems from flat records (a parquet table's rows), validated like a challenge file's."""
    out = []
    for n, row in enumerate(rows):
        try:
            problem = Problem.model_validate(row)
        except ValidationError as exc:
            raise DatasetError(_format_validation_error(Path(f"{where} row {n}"), exc)) from exc
        problem.challenge = problem.challenge or re.sub(r"_main$", "", problem.problem_id)
        out.append(problem)
    return out


def check_public_coverage(ids: List[str], source: str, version: Optional[BenchmarkVersion] = None) -> None:
    """The ids are exactly the version's (the default version when none is given)."""
    chosen = version or versions.get(versions.DEFAULT)
    if chosen.known:
        chosen.check_ids(ids, source)


def _hashed(problems: List[Problem], source: str, public: bool, origin: Optional[Origin] = None) -> ProblemSet:
    problems = sorted(problems, key=lambda p: problem_order(p.problem_id))
    digest = canonical_sha256([p.model_dump(mode="json") for p in problems])
    return ProblemSet(problems=tuple(problems), source=source, sha256=digest, public=public, origin=origin)


def load_directory(directory: Path, *, expect_public: bool = True, checkpoints: bool = False,
                   version: Optional[BenchmarkVersion] = None, check_ids: bool = True) -> ProblemSet:
    """Load a directory of challenge files: the official ``Challenge_N.json`` layout
    (checked against the version's ids), or with ``expect_public=False`` any ``*.json``
    challenge files (a private set, the example challenge). A folder holding only the
    parquet of a Hugging Face copy (``data pull data.dir=...``) is read as that table."""
    if not directory.is_dir():
        raise DatasetError(
            f"dataset.path={directory} is not a directory: give the folder holding Challenge_N.json files"
        )
    if expect_public:
        paths = sorted((p for p in directory.iterdir() if FILE_PATTERN.match(p.name)),
                       key=lambda p: int(FILE_PATTERN.match(p.name).group(1)))  # type: ignore[union-attr]  # filtered above
    else:
        paths = sorted(p for p in directory.glob("*.json") if p.name != SOURCE_FILE)
    if not paths and expect_public and any(directory.glob("*.parquet")):
        from .parquet import read_tables

        rows = read_tables(sorted(directory.glob("*.parquet")))
        problems = [p for p in problems_from_rows(rows, f"dataset.path={directory}")
                    if checkpoints or p.problem_type == "main"]
    else:
        if not paths:
            kind = "Challenge_N.json" if expect_public else "*.json challenge"
            raise DatasetError(f"dataset.path={directory} holds no {kind} files")
        files = {p: parse_challenge_file(p, p.read_bytes()) for p in paths}
        if not expect_public:  # the public layout is one file per challenge: nothing to drop there
            files = without_copies(files)
        problems = _select_problems(files, checkpoints)
    if expect_public and check_ids:
        check_public_coverage([p.problem_id for p in problems], f"dataset.path={directory}", version)
    return _hashed(problems, str(directory), expect_public)


def select(problem_set: ProblemSet, ids: List[str], limit: Optional[int]) -> ProblemSet:
    """The subset named by ``dataset.ids`` and/or ``dataset.limit`` (first N, the set's stable order)."""
    if not ids and limit is None:
        return problem_set
    chosen = list(problem_set.problems)
    if ids:
        known = set(problem_set.ids)
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise DatasetError(f"dataset.ids: {', '.join(unknown)} not in the problem set ({problem_set.source}); "
                               f"ids look like {problem_set.ids[0]}")
        wanted = set(ids)
        chosen = [p for p in chosen if p.problem_id in wanted]
    if limit is not None:
        chosen = chosen[:limit]
    digest = canonical_sha256([p.model_dump(mode="json") for p in chosen])
    return replace(problem_set, problems=tuple(chosen), sha256=digest, full_size=len(problem_set))
