"""`run`: generate, assemble, submit (or queue, or grade here), then the catalog and the report.

Each stage command reads what earlier stages left in the run folder, so each can be
run alone, and pointing one at an existing folder resumes it.
"""

from __future__ import annotations

from ..config import HarnessConfig
from ..errors import HarnessError
from ..providers import is_offline
from ..runs import RunFolder
from . import Echo
from .batches import cmd_assemble
from .generate import check_keys, cmd_generate
from .grading import cmd_grade_local
from .results import cmd_catalog
from .sandbox import announce
from .submission import cmd_submit
from ..tracking import check as check_tracking, stage_end


def cmd_run(cfg: HarnessConfig, run: RunFolder, echo: Echo = print) -> None:
    subset = bool(cfg.dataset.ids or cfg.dataset.limit)  # a subset is never submitted: no grader key needed
    check_keys(cfg, evaluator=cfg.dataset.public and not subset)
    announce(cfg, echo, judge=not cfg.dataset.public)  # a use that cannot be isolated refuses here, before any call
    check_tracking(cfg)
    cmd_generate(cfg, run, echo)
    stage_end(cfg, run, "generate", echo)
    cmd_assemble(cfg, run, echo)
    stage_end(cfg, run, "assemble", echo)
    manifest = run.manifest()
    if manifest.get("public_set") is False:  # only the public set can be graded officially
        echo("a private problem set: graded here, not by the official grader")
        cmd_grade_local(cfg, run, echo)
        stage_end(cfg, run, "grade-local", echo)
    elif manifest.get("subset"):
        s = manifest["subset"]
        echo(f"a subset ({s['problems']} of {s['of']} problems): stopping after the checks, nothing is submitted. "
             "The official grader grades only the full public set; for a CritPt score run all of it in a new "
             "run_dir (drop dataset.ids / dataset.limit).")
    elif cfg.evaluator.queue:  # the queue posts it, across quota windows
        from ..submission.queue import add as queue_add

        queue_add(cfg, run, echo)
    else:
        cmd_submit(cfg, run, echo)
        stage_end(cfg, run, "submit", echo)
    if not cfg.catalog.enabled:
        echo("catalog: skipped (catalog.enabled=false)")
    elif is_offline(cfg.model.provider):  # keep the offline default offline: nothing to compare with
        echo("catalog: skipped for the offline mock model (`critpt-harness catalog` takes a snapshot)")
    else:
        try:
            cmd_catalog(cfg, run, echo)
        except HarnessError as exc:  # the scores are in; a catalog problem must not fail the run
            echo(f"warning: catalog snapshot failed: {exc}")
    from ..report.command import report_stage  # a failed report is a warning, never a failed run

    report_stage(cfg, run, echo)
    stage_end(cfg, run, "report", echo)


