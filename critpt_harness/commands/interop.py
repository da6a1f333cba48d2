"""`import-official` and `export-official`: the official pipeline's file layout, both ways."""

from __future__ import annotations

from pathlib import Path

from ..config import HarnessConfig
from ..errors import ConfigError, RunFolderError
from ..runs import RunFolder
from . import Echo


def cmd_import_official(cfg: HarnessConfig, run: RunFolder, echo: Echo = print) -> None:
    """Make a run folder from the official pipeline's generations."""
    from ..batches.interop import import_official
    from ..data.sets import load_problems

    if not cfg.interop.source:
        raise ConfigError("import-official needs interop.source=<the official results/generations folder>")
    problem_set = load_problems(cfg.dataset)
    problems = {p.problem_id: p for p in problem_set.problems}
    counts = import_official(cfg, run, Path(cfg.interop.source).expanduser(), problems, problem_set.sha256)
    for epoch, n in sorted(counts.items()):
        echo(f"epoch {epoch}: {n} answers imported")
    echo(f"run folder: {run.path}; next: `critpt-harness assemble run_dir={run.path}`")


def cmd_export_official(cfg: HarnessConfig, run: RunFolder, echo: Echo = print) -> None:
    """Write the run's batches in the official layout, one tree per epoch."""
    from ..batches.interop import export_official
    from ..submission.submit import assembled_epochs

    run.stored_config()
    epochs = list(cfg.evaluator.epochs) or assembled_epochs(run)
    if not epochs:
        raise RunFolderError(f"no batches in {run.batches_dir}: run `critpt-harness assemble run_dir={run.path}`")
    out = Path(cfg.interop.export_dir).expanduser() if cfg.interop.export_dir else None
    key = cfg.evaluator.api_key_env
    for epoch, root in export_official(run, epochs, out).items():
        # absolute: the command is run from the official clone, where runs/... does not exist;
        # one results and one output folder per epoch, so the reports do not overwrite each other
        root = root.resolve()
        echo(f"epoch {epoch}: {root}\n  python evaluate_all_results.py --results-dir {root} "
             f"--output-dir {root.parent / f'evaluations_epoch_{epoch}'} --api-key \"${key}\"")
