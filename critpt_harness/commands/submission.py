"""`submit` and `queue`: the batches to the grader, within the quota."""

from __future__ import annotations

import asyncio

from ..config import HarnessConfig
from ..errors import RunFolderError
from ..runs import RunFolder
from . import Echo
from .generate import check_keys


def cmd_submit(cfg: HarnessConfig, run: RunFolder, echo: Echo = print) -> None:
    from ..submission.results import table, update_summary
    from ..submission.submit import submit_async

    run.stored_config()  # fails clearly when run_dir is not a run folder
    try:
        outcomes = asyncio.run(submit_async(cfg.evaluator, run, show_progress=cfg.generation.progress, echo=echo))
        for epoch, outcome in outcomes.items():
            echo(f"epoch {epoch}: {outcome}")
    finally:
        data = update_summary(run)
        if data.get("epochs"):
            echo(table(data))
            echo("Please attribute results to the CritPt project (arXiv 2509.26574) when publishing them.")
    if cfg.evaluator.dry_run:
        echo(f"dry run: requests written to {run.path / 'requests'}; nothing was sent. "
             "Pass evaluator.dry_run=false to grade (uses one of your daily gradings per epoch).")


def cmd_queue(cfg: HarnessConfig, run: RunFolder, echo: Echo = print) -> None:
    """`critpt-harness queue add|list|run`: gradings that span quota windows."""
    from ..submission import queue as grading_queue

    if cfg.queue.action == "add":
        if not run.exists():
            raise RunFolderError(f"queue add: {run.path} is not a run folder; name one: "
                                 "`critpt-harness queue add run_dir=runs/<model>/<time>`")
        grading_queue.add(cfg, run, echo)
    elif cfg.queue.action == "run":
        check_keys(cfg, evaluator=True)
        grading_queue.run_queue(cfg, echo)
    else:
        grading_queue.show(cfg, echo)
