"""The Hydra side of the CLI: composing the config and running the task once (without hydra.main's
second composition), ``-m`` sweeps and the summary of their failed jobs (a command's ``--help`` is
commands/help.py's, without Hydra). Hydra is imported only inside these functions (start-up stays light).
"""

from __future__ import annotations

import sys
from typing import Any, Callable, Dict, List

Task = Callable[[Any], None]  # the Hydra task: one command on the composed config (cli._task)

CONFIG_PATH = "pkg://critpt_harness.configs"
CONFIG_NAME = "config"


def config_groups() -> Dict[str, List[str]]:
    """Each config group of the package's configs folder and its options (the YAML files' names),
    read from the folder without Hydra (`--help` lists them; unknown options are refused with them)."""
    from importlib import resources

    root = resources.files("critpt_harness.configs")
    return {g.name: sorted(f.name[:-5] for f in g.iterdir() if f.name.endswith(".yaml"))
            for g in sorted(root.iterdir(), key=lambda p: p.name)
            if g.is_dir() and not g.name.startswith(("_", "."))}


# Jobs of a -m sweep that failed: (job, first line of the error, exit code). Launchers that run jobs
# in other processes (joblib, submitit) report through the file CRITPT_SWEEP_FAILURES names.
_SWEEP_FAILURES: List[tuple] = []
_FAILURES_ENV = "CRITPT_SWEEP_FAILURES"


def record_sweep_failure(job: str, why: str, code: int) -> None:
    import json
    import os

    path = os.environ.get(_FAILURES_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as f:  # one short line per job: appends do not interleave
            f.write(json.dumps([job, why, code]) + "\n")
    else:
        _SWEEP_FAILURES.append((job, why, code))


def _sweep_failures() -> List[tuple]:
    import json
    import os

    path = os.environ.get(_FAILURES_ENV)
    found = list(_SWEEP_FAILURES)
    if path and os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            found += [tuple(json.loads(line)) for line in f if line.strip()]
    return found


def in_sweep() -> bool:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    try:
        return HydraConfig.get().mode == RunMode.MULTIRUN
    except ValueError:
        return False


def job_name() -> str:
    from hydra.core.hydra_config import HydraConfig

    from .config import varying_overrides

    hc = HydraConfig.get()
    chosen = [f"{key}={value}" for key, value in varying_overrides(hc.overrides.task)]
    return f"job {hc.job.num} ({' '.join(chosen) or hc.job.override_dirname or 'no overrides'})"


def hydra_main(task: Task) -> None:
    """Hydra's own entry point: sweeps (-m), --cfg, --info, `run --help` and the rest of its flags."""
    import hydra

    entry = hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name=CONFIG_NAME)(task)
    import os
    import tempfile

    fd, path = tempfile.mkstemp(prefix="critpt-sweep-", suffix=".jsonl")
    os.close(fd)
    from .config import sweep_keys

    os.environ["CRITPT_SWEEP_KEYS"] = ",".join(sorted(sweep_keys(sys.argv[1:])))  # for jobs in other processes
    os.environ[_FAILURES_ENV] = path  # inherited by the jobs' processes
    try:
        entry()
        failures = _sweep_failures()
    finally:
        os.environ.pop(_FAILURES_ENV, None)
        os.environ.pop("CRITPT_SWEEP_KEYS", None)
        os.unlink(path)
    if failures:
        lines = "\n".join(f"  {job}: {why}" for job, why, _ in failures)
        print(f"sweep: {len(failures)} job(s) failed (the others ran):\n{lines}", file=sys.stderr)
        sys.exit(max(int(code) for _, _, code in failures))


def run_once(overrides: List[str], task: Task) -> None:
    """One job with nothing but overrides: what hydra.main does in run mode, except that
    hydra.main first composes the whole config once more only to read ``hydra.mode`` (its
    get_mode), which doubled the start-up. The config is composed once here, through the
    same Hydra object, search path and error reporting hydra.main uses."""
    from hydra import version
    from hydra.core.global_hydra import GlobalHydra

    try:  # Hydra 1.3's internals, what hydra.main itself calls
        from hydra._internal.hydra import Hydra
        from hydra._internal.utils import create_config_search_path, run_and_report
    except ImportError:  # a Hydra that moved them: its public entry point (sys.argv holds the same)
        hydra_main(task)
        return

    version.setbase("1.3")
    search_path = create_config_search_path(CONFIG_PATH)
    app: Any = run_and_report(lambda: Hydra.create_main_hydra2(task_name="critpt-harness",
                                                                config_search_path=search_path))
    try:
        # hydra.main adds the same override when the config does not set hydra.mode
        run_and_report(lambda: app.run(config_name=CONFIG_NAME, task_function=task,
                                       overrides=[*overrides, "hydra.mode=RUN"]))
    finally:
        GlobalHydra.instance().clear()
