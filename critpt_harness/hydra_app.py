"""The Hydra side of the CLI: composing the config and running the task once (without hydra.main's
second composition), ``-m`` sweeps and the summary of their failed jobs (a command's ``--help`` is
commands/help.py's, without Hydra). Hydra is imported only inside these functions (start-up stays light).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

Task = Callable[[Any], None]  # the Hydra task: one command on the composed config (cli._task)

CONFIG_PATH = "pkg://critpt_harness.configs"
CONFIG_NAME = "config"


def config_groups() -> Dict[str, List[str]]:
    """Each config group of the package's configs folder and its options (the YAML files' names),
    read from the folder without Hydra (`--help` lists them; unknown options are refused with them)."""
    from importlib import resources

    root = resources.files("critpt_harness.configs")  # a Traversable: also inside a zipped install
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
    if "hydra" not in sys.modules:  # the composition came from the cache: a single run
        return False
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


# ---------------------------------------------------------------- the composition, remembered
# Importing Hydra and composing the config take ~0.6 s of every command's start. A single run (no
# flags, no hydra.* override) composed once is kept as JSON in the harness cache, keyed by everything
# the composition depends on: the overrides, every config file and schema module (size and time),
# and the versions of the harness, Hydra, OmegaConf and Python. The same command line then reads it
# back onto the typed schema with OmegaConf alone; anything changed composes anew through Hydra.

def _composition_key(overrides: List[str], roots: Optional[List[Path]] = None) -> str:
    import hashlib
    from importlib.util import find_spec

    from . import __version__

    parts = [__version__, sys.version, *overrides]
    if roots is None:
        roots = [_configs_dir(), Path(__file__).resolve().parent / "config"]
        for name in ("hydra", "omegaconf"):  # a reinstall (another version) rewrites the package's files
            spec = find_spec(name)
            if spec is not None and spec.origin:
                st = Path(spec.origin).stat()
                parts.append(f"{name}:{spec.origin}:{st.st_size}:{st.st_mtime_ns}")
    for root in roots:
        for path in sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".py")):
            st = path.stat()
            parts.append(f"{path.relative_to(root)}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def _configs_dir() -> Path:
    from importlib import resources

    return Path(str(resources.files("critpt_harness.configs")))


def composition_file(overrides: List[str]) -> Optional[Path]:
    """Where this command line's composition is kept; None when it must go through Hydra every time
    (Hydra's flags, a sweep, hydra.* overrides) or the config files cannot be read."""
    if any(a.startswith("-") or a.lstrip("+~").startswith("hydra.") for a in overrides):
        return None
    from .runs import default_cache_dir

    try:
        return default_cache_dir() / "compositions" / f"{_composition_key(overrides)}.json"
    except OSError:
        return None


def _remember(path: Optional[Path], cfg: Any) -> None:
    """Keep a composition Hydra made (all but its own hydra node); a cache that cannot be written
    is no error: the next start composes again."""
    if path is None:
        return
    import json
    import os
    import tempfile

    from omegaconf import OmegaConf

    data = OmegaConf.to_container(cfg, resolve=False)  # interpolations stay as written (run_dir's time)
    if not isinstance(data, dict):
        return
    data.pop("hydra", None)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".compose-")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f)
        os.replace(tmp, path)
    except OSError:
        pass


def run_cached(path: Optional[Path], task: Task) -> bool:
    """Run the task on the composition remembered at ``path`` (composition_file); False when there is none."""
    if path is None or not path.is_file():
        return False
    import json

    from omegaconf import OmegaConf

    from .config import HarnessConfig, register_resolvers

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        cfg = OmegaConf.merge(OmegaConf.structured(HarnessConfig), data)
    except Exception:  # a damaged or foreign file: compose anew (and replace it)
        return False
    OmegaConf.set_struct(cfg, True)  # as Hydra leaves it: no key can be added later
    register_resolvers()
    task(cfg)
    return True


def run_once(overrides: List[str], task: Task, remember: Optional[Path] = None) -> None:
    """One job with nothing but overrides: what hydra.main does in run mode, except that
    hydra.main first composes the whole config once more only to read ``hydra.mode`` (its
    get_mode), which doubled the start-up. The config is composed once here, through the
    same Hydra object, search path and error reporting hydra.main uses. ``remember``: where to keep
    the composition (composition_file), None to keep nothing."""
    from hydra import version
    from hydra.core.global_hydra import GlobalHydra

    try:  # Hydra 1.3's internals, what hydra.main itself calls
        from hydra._internal.hydra import Hydra
        from hydra._internal.utils import create_config_search_path, run_and_report
    except ImportError:  # a Hydra that moved them: its public entry point (sys.argv holds the same)
        hydra_main(task)
        return

    version.setbase("1.3")
    started: List[bool] = []  # the task began: its own errors are not the composition's

    def remembered(cfg: Any) -> None:
        started.append(True)
        _remember(remember, cfg)
        task(cfg)

    def composed_and_run() -> Any:
        from hydra.errors import ConfigCompositionException
        from omegaconf.errors import ValidationError

        try:
            return app.run(config_name=CONFIG_NAME, task_function=remembered, overrides=[*overrides, "hydra.mode=RUN"])
        except ConfigCompositionException as exc:  # a value the schema's type refuses: said as a config error
            cause = exc.__cause__
            if started or not isinstance(cause, ValidationError) or not getattr(cause, "full_key", None):
                raise
            from .config.overrides import value_message

            shown = str(exc).removeprefix("Error merging override ").strip() or str(cause.full_key)
            print(f"error: {value_message(shown, str(cause.full_key), str(getattr(cause, 'msg', '')))}",
                  file=sys.stderr)
            sys.exit(2)

    search_path = create_config_search_path(CONFIG_PATH)
    app: Any = run_and_report(lambda: Hydra.create_main_hydra2(task_name="critpt-harness",
                                                                config_search_path=search_path))
    try:
        # hydra.main adds the same override when the config does not set hydra.mode
        run_and_report(composed_and_run)
    finally:
        GlobalHydra.instance().clear()
