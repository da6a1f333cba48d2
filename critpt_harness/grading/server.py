"""``critpt-harness serve-grader``: a local stand-in for the CritPt evaluate
endpoint that grades with golden answers.

Same contract as the official endpoint (grading/contract.py): ``x-api-key``,
exact coverage of ITS problem set (the main problems of ``grader.problems``,
plus the checkpoints with ``grader.include_checkpoints``), 400/401/429 with
``Retry-After`` and ``X-RateLimit-*``, plain JSON or the NDJSON stream. Problems
without a golden answer count as not correct and are listed in ``not_gradable``.

Every reply says it is local: the header ``X-CritPt-Grader: local`` and, in
every JSON body and NDJSON event, ``"local_grader": true`` and a ``note``.
NDJSON events are sent once the batch is graded (all problems are judged in one
sandbox run, so there is no partial progress to report).

    export CRITPT_LOCAL_GRADER_KEY=rehearsal
    critpt-harness serve-grader grader.problems=path/to/challenges
    critpt-harness submit run_dir=... evaluator.url=http://127.0.0.1:8787/api/v2/critpt/evaluate \\
        evaluator.api_key_env=CRITPT_LOCAL_GRADER_KEY evaluator.dry_run=false evaluator.ledger_path=...
"""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from ..errors import ConfigError, HarnessError
from ..secrets import require_key
from ..config.grading import GraderConfig, validate_grader
from .contract import EvaluateContract, Refunded
from .local import GoldenSet, GradeReport, grade_codes, load_golden_set
from .web import BackgroundServer, Request, evaluate_app

NOTE = ("This is a LOCAL CritPt grader (critpt-harness serve-grader), not the official one: it grades with "
        "the golden answers of its own problem set, and its results are not official CritPt results.")
MARKER_HEADER = "X-CritPt-Grader"


class LocalGraderServer(EvaluateContract, BackgroundServer):
    """The evaluate endpoint over a golden problem set. ``start()`` serves on an
    ephemeral loopback port (tests); ``start_at(host, port)`` where configured."""

    SET_NAME = "this local grader's problem set"
    thread_name = "critpt-local-grader"
    keep_alive_s = 5

    def __init__(self, golden: GoldenSet, cfg: GraderConfig, api_key: str, *, keep_requests: bool = True,
                 echo: Optional[Callable[[str], None]] = None):
        super().__init__()
        self.golden = golden
        self.cfg = cfg
        self.setup_contract(api_key=api_key, limit=cfg.daily_limit, ids=tuple(golden.ids(cfg.include_checkpoints)),
                            window=timedelta(hours=cfg.window_hours))
        # Every request, for tests; a long-running server keeps none (no request bodies in memory).
        self.requests: List[Request] = []
        self.app = evaluate_app(self, self.requests if keep_requests else None)
        self.echo = echo
        self.reports: List[GradeReport] = []

    @property
    def url(self) -> str:
        return self.root + self.PATH

    def coverage_error(self, ids: List[str]) -> Optional[str]:
        error = super().coverage_error(ids)
        if error and not self.cfg.include_checkpoints and any(
                i in self.golden.problems and not self.golden.problems[i].is_main for i in ids):
            error += ("; the batch answers checkpoints too: restart serve-grader with "
                      "grader.include_checkpoints=true to grade them")
        return error

    # marking every reply as local
    def marker_headers(self) -> Dict[str, str]:
        return {MARKER_HEADER: "local"}

    def annotate(self, payload: Dict[str, Any]) -> Dict[str, Any]:
        return {**payload, "local_grader": True, "note": NOTE}

    # grading
    async def evaluate(self, submissions: List[Dict[str, Any]], body: Dict[str, Any]) -> Dict[str, Any]:
        codes = {s["problem_id"]: str(s.get("generated_code") or "") for s in submissions}
        try:
            report = await grade_codes(codes, self.golden, self.cfg)
        except (HarnessError, OSError) as exc:
            raise Refunded(502, f"the local judge failed: {exc}") from exc
        self.reports.append(report)
        if self.echo:
            self.echo(f"graded a batch of {len(codes)}: accuracy {report.accuracy:.4f} "
                      f"({report.count('correct')} correct, {len(report.not_gradable)} not gradable, "
                      f"{report.count('timeout')} timeouts, {report.count('judge_error')} judge errors); "
                      f"{self.remaining - 1} gradings left in this window")
        # Marked here too: a stream's result event carries the result as its payload.
        return self.annotate({**report.result(reasons=self.cfg.show_reasons),
                              "problem_set": Path(self.golden.source).name})

    # serving where configured
    def start_at(self, host: str, port: int) -> "LocalGraderServer":
        """Listen on ``host:port`` (port 0 = any free one) in a background thread."""
        try:
            super().start_at(host, port)
        except OSError as exc:
            raise ConfigError(f"cannot listen on {host}:{port} ({exc}): set grader.port to a free port "
                              "(0 = any) or grader.host to an address of this machine") from None
        return self


def _banner(server: LocalGraderServer, cfg: GraderConfig) -> str:
    golden = server.golden
    expected = golden.ids(cfg.include_checkpoints)
    gradable = [i for i in expected if golden.problems[i].golden_name]
    lines = [f"Local CritPt grader (NOT the official grader) listening on {server.url}",
             f"  problem set: {golden.source}: a batch must hold these {len(expected)} problems exactly once; "
             f"{len(gradable)} have golden answers"]
    missing = [i for i in expected if i not in gradable]
    if missing:
        lines.append(f"  without golden answers (always counted as not correct): {', '.join(missing[:10])}"
                     + (" ..." if len(missing) > 10 else ""))
    lines += [f"  key: the value of ${cfg.api_key_env} in the x-api-key header; "
              f"{cfg.daily_limit} gradings per {cfg.window_hours:g} h",
              f"  submit to it: evaluator.url={server.url} evaluator.api_key_env={cfg.api_key_env} "
              "evaluator.dry_run=false (the ledger keeps its gradings apart from the official grader's)",
              "  Ctrl-C stops it."]
    return "\n".join(lines)


def serve_grader(cfg: GraderConfig, *, echo: Callable[[str], None] = print,
                 stop: Optional[threading.Event] = None,
                 ready: Optional[Callable[[LocalGraderServer], None]] = None) -> None:
    """Run the local grader in the foreground until Ctrl-C (or until ``stop`` is set).
    Prints its URL first; ``ready`` is called with the running server (for tests)."""
    validate_grader(cfg, serving=True)
    golden = load_golden_set(cfg.problems or "", cfg.rtol, cfg.atol)
    api_key = require_key(cfg.api_key_env, "grader.api_key_env")
    server = LocalGraderServer(golden, cfg, api_key, keep_requests=False, echo=echo)
    server.start_at(cfg.host, cfg.port)
    try:
        echo(_banner(server, cfg))
        if ready:
            ready(server)
        (stop or threading.Event()).wait()
    except KeyboardInterrupt:
        echo("stopping the local grader")
    finally:
        server.stop()
