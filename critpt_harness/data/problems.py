"""Load and validate the CritPt problems; download and cache the pinned public set.

The tool knows the official public id set (``PUBLIC_IDS``) on its own, so a
missing or extra problem in whatever was loaded is caught before any work.
"""

from __future__ import annotations

import ast
import asyncio
import hashlib
import json
import logging
import re
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Dict, List, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..config import DatasetConfig
from ..contracts import problem_order as _sort_key
from ..errors import DatasetError
from ..failures import HTTPStatusError, unreachable
from ..http import async_client, get_bytes
from ..retry import RetryPolicy
from ..runfiles import write_text_atomic
from ..runs import canonical_sha256, default_cache_dir

log = logging.getLogger(__name__)

_PUBLIC = json.loads(resources.files("critpt_harness").joinpath("data/public_set.json").read_text())
PUBLIC_IDS: tuple[str, ...] = tuple(_PUBLIC["problem_ids"])
PUBLIC_COMMIT: str = _PUBLIC["commit"]
_CANONICAL_SHA256: Dict[str, str] = _PUBLIC["canonical_sha256"]
FILE_PATTERN = re.compile(r"^Challenge_(\d+)\.json$")


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
class ProblemSet:
    problems: tuple[Problem, ...]
    source: str
    sha256: str
    public: bool = True
    full_size: Optional[int] = None  # problems in the whole set when this is a subset (dataset.ids/limit)

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


def check_public_coverage(ids: List[str], source: str) -> None:
    missing = sorted(set(PUBLIC_IDS) - set(ids), key=_sort_key)
    extra = sorted(set(ids) - set(PUBLIC_IDS), key=_sort_key)
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)}: {', '.join(missing)}")
        if extra:
            parts.append(f"not in the public set {len(extra)}: {', '.join(extra)}")
        raise DatasetError(
            f"{source} does not hold the {len(PUBLIC_IDS)} public CritPt problems ({'; '.join(parts)}). "
            "The grader only accepts batches covering exactly the public set: point dataset.path at a "
            "complete copy, or leave it empty to download the pinned set."
        )


def load_directory(directory: Path, *, expect_public: bool = True, checkpoints: bool = False) -> ProblemSet:
    """Load a directory of challenge files: the official ``Challenge_N.json`` layout
    (checked against the public id set), or with ``expect_public=False`` any
    ``*.json`` challenge files (a private set, the example challenge)."""
    if not directory.is_dir():
        raise DatasetError(
            f"dataset.path={directory} is not a directory: give the folder holding Challenge_N.json files"
        )
    if expect_public:
        paths = sorted((p for p in directory.iterdir() if FILE_PATTERN.match(p.name)),
                       key=lambda p: int(FILE_PATTERN.match(p.name).group(1)))  # type: ignore[union-attr]  # filtered above
    else:
        paths = sorted(directory.glob("*.json"))
    if not paths:
        kind = "Challenge_N.json" if expect_public else "*.json challenge"
        raise DatasetError(f"dataset.path={directory} holds no {kind} files")
    files = {p: parse_challenge_file(p, p.read_bytes()) for p in paths}
    if not expect_public:  # the public layout is one file per challenge: nothing to drop there
        files = without_copies(files)
    problems = sorted(_select_problems(files, checkpoints), key=lambda p: _sort_key(p.problem_id))
    if expect_public:
        check_public_coverage([p.problem_id for p in problems], f"dataset.path={directory}")
    digest = canonical_sha256([p.model_dump(mode="json") for p in problems])
    return ProblemSet(problems=tuple(problems), source=str(directory), sha256=digest, public=expect_public)


def _cache_folder(cfg: DatasetConfig) -> Path:
    root = Path(cfg.cache_dir) if cfg.cache_dir else default_cache_dir()
    tag = hashlib.sha256(cfg.url_template.encode()).hexdigest()[:12]
    return root / "datasets" / f"public-{tag}"


def _verify(name: str, content: bytes, source: str) -> None:
    expected = _CANONICAL_SHA256.get(name)
    try:
        actual = canonical_sha256(json.loads(content))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{source}: not valid JSON ({exc})") from exc
    if expected != actual:
        raise DatasetError(
            f"{source}: content does not match the pinned CritPt commit {PUBLIC_COMMIT[:12]} "
            f"(sha256 {actual[:12]}, expected {str(expected)[:12]}). Check dataset.url_template, "
            "or set dataset.verify=false to accept a modified copy."
        )


# Offline, both downloads need a local copy, in the order they are loaded; the problems alone would
# leave the prompts to the tool's paraphrase (the mock) or to a second error (any other model).
OFFLINE_HOW = ("With a clone of github.com/CritPt-Benchmark/CritPt, pass dataset.path=<clone>/data/"
               "public_test_challenges/json (the problems) and prompts.path=<clone>/templates (the official "
               "prompt text; without it the offline mock uses the tool's paraphrased prompts, not comparable "
               "to published scores).")


async def _download_all(cfg: DatasetConfig, folder: Path, names: List[str]) -> None:
    import httpx  # only when downloading: a local or cached set needs no HTTP client

    policy = RetryPolicy.from_config(cfg.retry, permanent=unreachable)  # offline: say so at once
    limit = asyncio.Semaphore(8)

    async def one(client: "httpx.AsyncClient", name: str) -> None:
        url = cfg.url_template.format(name=name)
        async with limit:
            try:
                content = await get_bytes(client, url, policy)
            except HTTPStatusError as exc:
                raise DatasetError(
                    f"downloading {url} failed with HTTP {exc.status_code}. Check dataset.url_template, "
                    "or pass dataset.path=<folder with Challenge_N.json>."
                ) from exc
            except httpx.TransportError as exc:
                raise DatasetError(
                    f"cannot download the CritPt public set from {url} ({type(exc).__name__}: {exc}). "
                    f"You may be offline. {OFFLINE_HOW}"
                ) from exc
        if cfg.verify:
            _verify(name, content, url)
        write_text_atomic(folder / name, content.decode("utf-8"))

    async with async_client(timeout=cfg.download_timeout) as client:
        await asyncio.gather(*(one(client, n) for n in names))


def load_public(cfg: DatasetConfig) -> ProblemSet:
    """The pinned public set, from the cache or downloaded (and verified) once."""
    folder = _cache_folder(cfg)
    folder.mkdir(parents=True, exist_ok=True)
    names = [f"Challenge_{i.split('_')[1]}.json" for i in PUBLIC_IDS]
    todo = []
    for name in names:
        path = folder / name
        if not path.exists():
            todo.append(name)
        elif cfg.verify:
            try:
                _verify(name, path.read_bytes(), str(path))
            except DatasetError:
                log.warning("cached %s is damaged; downloading it again", path)
                todo.append(name)
    if todo:
        from ..config import is_local_url
        from ..http import OFFLINE_ENV, offline

        if offline() and not is_local_url(cfg.url_template):
            raise DatasetError(f"{len(todo)} CritPt problem files are not cached in {folder} and {OFFLINE_ENV} is "
                               f"set, so nothing is downloaded. {OFFLINE_HOW}")
        log.info("downloading %d CritPt problem files into %s", len(todo), folder)
        asyncio.run(_download_all(cfg, folder, todo))
    problem_set = load_directory(folder)
    return ProblemSet(problem_set.problems, f"{cfg.url_template} (cached in {folder})", problem_set.sha256)


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
    return ProblemSet(tuple(chosen), problem_set.source, digest, problem_set.public, len(problem_set))


def load_problems(cfg: DatasetConfig) -> ProblemSet:
    """The configured problem set, or the subset that dataset.ids / dataset.limit name."""
    return select(_load_problems(cfg), list(cfg.ids), cfg.limit)


def _load_problems(cfg: DatasetConfig) -> ProblemSet:
    if not cfg.public and not cfg.path:
        raise DatasetError("dataset.public=false needs dataset.path=<folder of your challenge JSON files>")
    if cfg.path:
        return load_directory(Path(cfg.path).expanduser(), expect_public=cfg.public, checkpoints=cfg.checkpoints)
    return load_public(cfg)
