"""Grade generated code against a problem set that has golden answers.

A problem has a golden answer when its ``answer_code`` defines ``real_answer``
(the CritPt example challenge), or defines a filled-in ``answer`` that is not the
bare template. The public set's ``answer_code`` is the template: not gradable.

Challenges with sub-problem checkpoints (``problem_type: sub``) are asked as one
multi-turn conversation in the official protocol; here each step's code is
graded against its own golden answer and reported under its challenge.

Tolerances: ``grader.rtol`` / ``grader.atol`` unless a problem's
``metadata.settings`` carries one of RTOL_KEYS / ATOL_KEYS (the CritPt files
seen so far all have ``settings: {}``).
"""

from __future__ import annotations

import ast
import asyncio
import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

from ..contracts import Batch
from ..errors import ConfigError, DatasetError, HarnessError
from ..checks.extract import extract_code
from ..data.problems import Problem, parse_challenge_file, without_copies
from ..config.grading import GraderConfig
from .judge import JudgeItem, run_judge

RTOL_KEYS = ("rtol", "rel_tol", "relative_tolerance", "tolerance")
ATOL_KEYS = ("atol", "abs_tol", "absolute_tolerance")


class GradingError(HarnessError):
    """Codes to grade do not match the problem set."""


@dataclass(frozen=True)
class GoldenProblem:
    problem: Problem
    challenge: str
    file: Path
    golden_name: Optional[str]  # the golden function in answer_code, or None
    missing: str  # why there is no golden answer ("" when there is one)
    rtol: float
    atol: float

    @property
    def id(self) -> str:
        return self.problem.problem_id

    @property
    def is_main(self) -> bool:
        return self.problem.problem_type == "main"


@dataclass(frozen=True)
class GoldenSet:
    problems: Dict[str, GoldenProblem]
    source: str

    def ids(self, include_checkpoints: bool = False) -> List[str]:
        """The ids a batch must cover: the main problems (and the checkpoints if asked)."""
        return [i for i, p in self.problems.items() if include_checkpoints or p.is_main]

    @property
    def gradable(self) -> List[str]:
        return [i for i, p in self.problems.items() if p.golden_name]

    def __len__(self) -> int:
        return len(self.problems)


def _has_placeholder(fn: ast.FunctionDef) -> bool:
    body = fn.body[1:] if fn.body and isinstance(fn.body[0], ast.Expr) and \
        isinstance(fn.body[0].value, ast.Constant) else fn.body
    return any(isinstance(n, ast.Constant) and n.value is Ellipsis for s in body for n in ast.walk(s))


def golden_function(problem: Problem) -> Tuple[Optional[str], str]:
    """(name of the golden function in answer_code, "") or (None, why there is none)."""
    code = (problem.answer_code or "").strip()
    if not code:
        return None, "no golden answer (answer_code is empty)"
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        return None, f"answer_code does not parse ({exc.msg}, line {exc.lineno})"
    fns = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    if "real_answer" in fns:
        return "real_answer", ""
    if "answer" in fns and code != problem.code_template.strip() and not _has_placeholder(fns["answer"]):
        return "answer", ""
    return None, "no golden answer (answer_code is the bare template)"


def tolerance(settings: Any, rtol: float, atol: float, where: str) -> Tuple[float, float]:
    """The problem's (rtol, atol): its settings' values where given, else the defaults."""
    if not isinstance(settings, dict):
        return rtol, atol
    found = {}
    for keys, default in ((RTOL_KEYS, rtol), (ATOL_KEYS, atol)):
        value = default
        for key in keys:
            if key in settings and settings[key] is not None:
                raw = settings[key]
                if isinstance(raw, bool) or not isinstance(raw, (int, float)) or raw < 0:
                    raise DatasetError(f"{where}: metadata.settings.{key}={raw!r} must be a number >= 0; "
                                       "fix the problem file")
                value = float(raw)
                break
        found[keys[0]] = value
    return found["rtol"], found["atol"]


def load_golden_set(path: Path | str, rtol: float = 1e-6, atol: float = 0.0) -> GoldenSet:
    """Every problem (main and checkpoints) of a challenge file, or of every *.json in a folder."""
    path = Path(path).expanduser()
    if path.is_dir():
        files = sorted(path.glob("*.json"))
        if not files:
            raise DatasetError(f"grader.problems={path} holds no .json challenge files")
    elif path.is_file():
        files = [path]
    else:
        raise DatasetError(f"grader.problems={path} does not exist: give a folder of challenge JSON files "
                           "(or one file) with golden answers")
    problems: Dict[str, GoldenProblem] = {}
    for file, challenge in without_copies({f: parse_challenge_file(f, f.read_bytes()) for f in files}).items():
        ordered = sorted(challenge.problems, key=lambda p: (p.problem_type != "main", p.problem_index or 0))
        for problem in ordered:
            if problem.problem_id in problems:
                raise DatasetError(f"{file}: problem_id {problem.problem_id!r} also appears in "
                                   f"{problems[problem.problem_id].file}; ids must be unique in grader.problems")
            name, missing = golden_function(problem)
            p_rtol, p_atol = tolerance(problem.metadata.get("settings"), rtol, atol,
                                       f"{file} ({problem.problem_id})")
            problems[problem.problem_id] = GoldenProblem(problem, challenge.dataset_name, file, name, missing,
                                                         p_rtol, p_atol)
    return GoldenSet(problems, str(path))


@dataclass
class Verdict:
    problem_id: str
    status: str  # correct | incorrect | timeout | not_gradable | judge_error
    reason: str = ""
    returned: Optional[str] = None  # repr of what the candidate's answer returned

    @property
    def correct(self) -> bool:
        return self.status == "correct"


@dataclass
class GradeReport:
    verdicts: Dict[str, Verdict]
    golden: GoldenSet = field(repr=False)

    def count(self, status: str) -> int:
        return sum(1 for v in self.verdicts.values() if v.status == status)

    def _accuracy(self, ids: List[str]) -> Optional[float]:
        return sum(self.verdicts[i].correct for i in ids) / len(ids) if ids else None

    @property
    def accuracy(self) -> float:
        return self._accuracy(list(self.verdicts)) or 0.0

    @property
    def main_accuracy(self) -> Optional[float]:
        return self._accuracy([i for i in self.verdicts if self.golden.problems[i].is_main])

    @property
    def checkpoint_accuracy(self) -> Optional[float]:
        return self._accuracy([i for i in self.verdicts if not self.golden.problems[i].is_main])

    @property
    def not_gradable(self) -> List[str]:
        return [i for i, v in self.verdicts.items() if v.status == "not_gradable"]

    def challenges(self) -> Dict[str, Dict[str, Any]]:
        """Per challenge: the main problem's status and its checkpoints' statuses in order."""
        out: Dict[str, Dict[str, Any]] = {}
        for pid, verdict in self.verdicts.items():
            gp = self.golden.problems[pid]
            entry = out.setdefault(gp.challenge, {"main": {}, "checkpoints": {}})
            entry["main" if gp.is_main else "checkpoints"][pid] = verdict.status
        for entry in out.values():
            steps = list(entry["checkpoints"].values())
            entry["checkpoints_correct"] = steps.count("correct")
            entry["checkpoints_total"] = len(steps)
        return out

    def result(self, *, reasons: bool = True) -> Dict[str, Any]:
        """The grader's reply format, plus per-problem statuses (and reasons if asked)."""
        total = len(self.verdicts)
        timeouts = self.count("timeout")
        problems = {i: ({"status": v.status, "reason": v.reason} if reasons else {"status": v.status})
                    for i, v in self.verdicts.items()}
        return {"accuracy": self.accuracy, "timeout_rate": timeouts / total if total else 0.0,
                "server_timeout_count": timeouts, "judge_error_count": self.count("judge_error"),
                "correct_count": self.count("correct"), "total": total,
                "not_gradable": self.not_gradable, "problems": problems}

    def table(self) -> str:
        """A plain-text report: one line per problem, then the accuracies."""
        width = max([len(i) for i in self.verdicts] + [10])
        lines = [f"{'problem':<{width}}  {'status':<12}  reason"]
        for pid, v in self.verdicts.items():
            lines.append(f"{pid:<{width}}  {v.status:<12}  {v.reason[:160]}")
        lines.append(f"accuracy {self.accuracy:.4f} ({self.count('correct')}/{len(self.verdicts)})")
        for label, acc in (("main problems", self.main_accuracy), ("checkpoints", self.checkpoint_accuracy)):
            if acc is not None:
                lines.append(f"  {label}: {acc:.4f}")
        if self.not_gradable:
            lines.append(f"not gradable (counted as not correct): {', '.join(self.not_gradable)}")
        return "\n".join(lines)


def _seed(base: int, problem_id: str) -> int:
    return base + zlib.crc32(problem_id.encode())


async def grade_codes(codes: Mapping[str, str], golden: GoldenSet, cfg: GraderConfig) -> GradeReport:
    """Grade {problem_id: code or reply} (fenced code is extracted) against ``golden``.
    Every id must be in the set; all problems run in one sandbox process."""
    unknown = [i for i in codes if i not in golden.problems]
    if unknown:
        raise GradingError(f"{len(unknown)} problem(s) are not in {golden.source}: {', '.join(unknown[:12])}. "
                           "Grade against the problem set the code was generated for (grader.problems).")
    verdicts: Dict[str, Verdict] = {}
    items: List[JudgeItem] = []
    for pid, text in codes.items():
        gp = golden.problems[pid]
        if not gp.golden_name:
            verdicts[pid] = Verdict(pid, "not_gradable", gp.missing)
            continue
        code = extract_code(text or "").code
        if not code:
            verdicts[pid] = Verdict(pid, "incorrect", "no Python code found in the submission")
            continue
        verdicts[pid] = Verdict(pid, "judge_error", "not judged")  # keeps the input order
        items.append(JudgeItem(pid, code, gp.problem.answer_code or "", gp.golden_name, gp.problem.testcases,
                               gp.rtol, gp.atol, _seed(cfg.seed, pid)))
    judged = await run_judge(items, cfg.sandbox, timeout=cfg.problem_timeout, workers=cfg.workers)
    for pid, raw in judged.items():
        verdicts[pid] = Verdict(pid, raw.get("status", "judge_error"), raw.get("reason", ""), raw.get("returned"))
    return GradeReport(verdicts, golden)


def grade(codes: Mapping[str, str], golden: GoldenSet, cfg: GraderConfig) -> GradeReport:
    return asyncio.run(grade_codes(codes, golden, cfg))


async def grade_batch(batch: Batch | Dict[str, Any], golden: GoldenSet, cfg: GraderConfig) -> GradeReport:
    """Grade a batch in the grader's wire format (contracts.Batch or its JSON);
    ``GradeReport.result()`` is the reply {accuracy, timeout_rate, server_timeout_count,
    judge_error_count, ...}."""
    if isinstance(batch, dict):
        batch = Batch.model_validate(batch)
    ids = [s.problem_id for s in batch.submissions]
    if len(set(ids)) != len(ids):
        raise GradingError("the batch holds a problem more than once; build it with `critpt-harness assemble`")
    return await grade_codes({s.problem_id: s.generated_code for s in batch.submissions}, golden, cfg)


def load_codes(path: Path | str) -> Dict[str, str]:
    """{problem_id: code} from a batch file (epoch_N.json) or a plain {id: code} JSON object."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the codes to grade ({exc})") from exc
    if isinstance(data, dict) and isinstance(data.get("submissions"), list):
        return {s["problem_id"]: s.get("generated_code", "") for s in data["submissions"]}
    if isinstance(data, dict) and all(isinstance(v, str) for v in data.values()):
        return dict(data)
    raise ConfigError(f"{path}: expected a batch ({{submissions: [...]}}) or an object {{problem_id: code}}")
