"""``critpt-harness <command> [hydra overrides]`` (also ``python -m critpt_harness``).

The command becomes the ``command=`` override, so Hydra parses everything else:
typed overrides, config groups, ``-m`` sweeps (the Hydra side is in :mod:`.hydra_app`).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, List

from .commands import NAMES, READS_ONLY, STAGES, STARTS

# Start-up matters for short commands (`--help`, resuming a finished run, `report`): this
# module imports nothing heavy at the top; hydra, the config schemas and each command's
# modules are imported when they are needed (benchmarks/startup.py measures it).
if TYPE_CHECKING:
    from omegaconf import DictConfig

    from . import config as config_module
    from .runs import RunFolder


def usage() -> str:
    """`critpt-harness --help`, without importing Hydra or the schemas."""
    from .commands.help import overview
    from .hydra_app import config_groups

    return overview(config_groups())


_ARGV: List[str] = []
_GC_PAUSED = False


class _TqdmHandler(logging.Handler):
    """Console log lines that do not tear the progress bar."""

    def emit(self, record: logging.LogRecord) -> None:
        from tqdm import tqdm

        try:
            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:  # logging must never crash the run
            self.handleError(record)


class _ConsoleFormatter(logging.Formatter):
    """'WARNING: ...' for problems; progress lines as they are, with the time for a log reader."""

    def format(self, record: logging.LogRecord) -> str:
        if record.levelno < logging.WARNING:
            return f"{self.formatTime(record, '%H:%M:%S')} {record.getMessage()}"
        return f"{record.levelname}: {record.getMessage()}"


def _setup_logging() -> logging.Handler:
    from .secrets import RedactingFilter

    root = logging.getLogger()
    root.setLevel(logging.INFO)
    redactor = RedactingFilter()
    console = _TqdmHandler(level=logging.INFO)
    console.setFormatter(_ConsoleFormatter())
    console.addFilter(redactor)
    # Warnings and errors, plus the plain progress lines shown when there is no terminal for a bar.
    console.addFilter(lambda r: r.levelno >= logging.WARNING or r.name == "critpt_harness.progress")
    root.addHandler(console)
    for noisy in ("httpx", "httpx2", "openai", "httpcore", "filelock"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return console


class _RunLog(logging.FileHandler):
    """harness.log in the run folder; records logged before the folder exists
    are held back and written once it does (a command never creates it just to log)."""

    def __init__(self, run: "RunFolder"):
        super().__init__(run.log_file, encoding="utf-8", delay=True)
        self.run = run
        self.pending: List[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if not self.run.path.is_dir():
            if len(self.pending) < 1000:
                self.pending.append(record)
            return
        while self.pending:
            super().emit(self.pending.pop(0))
        super().emit(record)


def _attach_file_log(run: "RunFolder") -> logging.Handler:
    from .secrets import RedactingFilter

    handler = _RunLog(run)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    logging.getLogger().addHandler(handler)
    return handler


def _to_config(cfg: "DictConfig") -> "config_module.HarnessConfig":
    from omegaconf import OmegaConf
    from omegaconf.errors import MissingMandatoryValue, OmegaConfBaseException

    from . import config as config_module
    from .errors import ConfigError

    try:
        obj = OmegaConf.to_object(cfg)  # raises on any key left ???
    except OmegaConfBaseException as exc:
        # Every key left ??? named, rather than run_dir when its interpolation tripped over one of them.
        from .config.overrides import missing_keys, missing_message

        missing = [k for k in missing_keys(OmegaConf.to_container(cfg, resolve=False)) if not k.startswith("hydra.")]
        if missing:
            raise ConfigError(missing_message(missing)) from exc
        if isinstance(exc, MissingMandatoryValue):
            key = exc.full_key or "a key"
            raise ConfigError(f"{key} must be set (it is ??? in the chosen config): pass {key}=...") from exc
        raise ConfigError(f"config error at {getattr(exc, 'full_key', '?')}: {exc}") from exc
    if not isinstance(obj, config_module.HarnessConfig):  # the structured schema makes it one
        raise ConfigError(f"the composed config is a {type(obj).__name__}, not the harness's schema")
    if obj.command not in NAMES:  # the registry (commands/__init__.py) is the one list of commands
        raise ConfigError(f"unknown command {obj.command!r}: use one of {', '.join(NAMES)}")
    config_module.validate(obj)
    return obj


def _given(key: str) -> bool:
    return any(a.split("=", 1)[0].lstrip("+~") == key for a in _ARGV)


def _pick_latest(cfg: "config_module.HarnessConfig") -> None:
    """A stage command without run_dir works on the model's latest run, and says which."""
    from .runs import latest_run

    if _given("run_dir") or cfg.command not in STAGES or (cfg.command == "report" and cfg.report.runs):
        return
    latest = latest_run(Path(cfg.run_dir).parent)
    if latest is not None:
        cfg.run_dir = str(latest)
        print(f"run_dir not given: using {latest}, the latest run of this model (pass run_dir=... for another)",
              file=sys.stderr)


def _task(cfg: "DictConfig") -> None:
    """The Hydra task: one command on the composed config."""
    from .errors import HarnessError
    from .commands import handler
    from .runs import RunFolder, claim_folder
    from .secrets import load_env_file

    load_env_file()
    console = _setup_logging()
    file_handler = None
    run = None
    discarded = False
    try:
        harness_cfg = _to_config(cfg)
        _pick_latest(harness_cfg)
        _end_of_startup()
        reads_only = harness_cfg.command in READS_ONLY  # view, table, compare: the run folders stay untouched
        created = None
        if not reads_only:
            # a default-named run is always a new folder; what the command makes goes again if it fails before
            # a record
            path, created = claim_folder(Path(harness_cfg.run_dir), new=harness_cfg.command in STARTS
                                         and not _given("run_dir"))
            harness_cfg.run_dir = str(path)
        run = RunFolder(harness_cfg.run_dir)
        file_handler = None if reads_only else _attach_file_log(run)
        # Written once the run folder exists: harness.log is there after any command on a run, failed or not
        # (a failed start of a new run removes its folder, log and all).
        logging.getLogger(__name__).info("critpt-harness %s started: %s", harness_cfg.command, " ".join(_ARGV))
        outcome = "failed"
        try:
            if harness_cfg.command in ("run", "generate") and harness_cfg.model.checkpoint:
                from .generation.models.served import served  # your own checkpoint, served for the run and stopped after

                with served(harness_cfg, run.path):
                    handler(harness_cfg.command)(harness_cfg, run)
            else:
                handler(harness_cfg.command)(harness_cfg, run)
            outcome = "ok"
        except HarnessError as exc:
            outcome = f"error: {exc}"[:1000]
            raise
        except KeyboardInterrupt:
            outcome = "interrupted"
            raise
        finally:
            if outcome != "ok" and created is not None and run.discard_unstarted(created):
                discarded = True  # a failed start leaves no folder behind for check/report to pick
            if run.exists() and not reads_only:
                run.record_command(harness_cfg.command, _ARGV, outcome)
                logging.getLogger(__name__).info("critpt-harness %s finished: %s", harness_cfg.command, outcome)
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        if discarded:
            print(f"(nothing was kept: {run.path if run else 'the run folder'} had no answer yet and was removed)",
                  file=sys.stderr)
        from .hydra_app import in_sweep, job_name, record_sweep_failure

        if in_sweep():  # the other jobs go on; the sweep ends with a summary and a non-zero exit
            record_sweep_failure(job_name(), str(exc).splitlines()[0][:200], exc.exit_code)
            return
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        if discarded:
            print("\ninterrupted before the first answer: nothing was kept", file=sys.stderr)
        else:
            where = f" run_dir={run.path}" if run is not None else ""
            print(f"\ninterrupted: everything finished so far is saved; run the same command with{where} to resume",
                  file=sys.stderr)
        sys.exit(130)
    finally:
        logging.getLogger().removeHandler(console)
        if file_handler is not None:
            logging.getLogger().removeHandler(file_handler)
            file_handler.close()

def _end_of_startup() -> None:
    """Start-up is over (imports, the config composed): collect garbage again, and move what
    start-up made to the permanent generation so later collections do not walk it each time.
    main() turned the collector off for start-up, where it only slowed the imports (~15%)."""
    import gc

    if _GC_PAUSED and not gc.isenabled():
        gc.enable()
        gc.freeze()


def main(argv: List[str] | None = None) -> None:
    global _GC_PAUSED
    import gc

    # As the process's entry point (not when called in-process, as by a test), pause the cyclic
    # garbage collector through start-up; _end_of_startup turns it back on.
    _GC_PAUSED = argv is None and gc.isenabled()
    if _GC_PAUSED:
        gc.disable()
    try:
        _main(argv)
    finally:
        if _GC_PAUSED:
            gc.enable()
            _GC_PAUSED = False
    if argv is None:
        _leave()


def _leave() -> None:
    """The command is done: end the process without tearing down, one by one, the ~1000 modules
    a model run imports (0.1-0.2 s of every such command). What a normal exit does that matters
    is done first: atexit handlers (logging's flush and close, a served checkpoint's stop) and
    the standard streams flushed. A non-daemon thread still at work gets the normal exit."""
    import atexit
    import os
    import threading

    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.current_thread()):
        return
    if any(name in sys.modules for name in ("joblib", "submitit", "multiprocessing.pool")):
        return  # a sweep launcher's workers are stopped by its own exit hooks, which only a normal exit runs
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can be said there
            pass
    os._exit(0)


# Commands whose next word is an action (set as <command>.action).
_ACTIONS = {"queue": ("add", "list", "run"), "data": ("pull", "list")}


def _main(argv: List[str] | None) -> None:
    global _ARGV
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        # With nothing given, say what can be done rather than start a whole run.
        print(usage())
        return
    if args[0] in ("-V", "--version"):
        from . import __version__

        print(f"critpt-harness {__version__}")
        return
    from . import config as config_module

    command = "run"
    # The command may stand anywhere among Hydra's flags (`critpt-harness -m run ...`).
    at = next((i for i, a in enumerate(args) if a in NAMES), None)
    if at is not None:
        command = args.pop(at)
    elif args and "=" not in args[0] and not args[0].startswith("-"):
        command = args[0]
    if command not in NAMES:
        print(f"error: unknown command {command!r}; choose one of: {', '.join(NAMES)}\n\n{usage()}",
              file=sys.stderr)
        sys.exit(2)
    if "--help" in args or "-h" in args:  # this command's own help, not Hydra's dump of the whole config
        from .commands.help import command_help
        from .hydra_app import config_groups

        print(command_help(command, config_groups()))
        return
    actions = _ACTIONS.get(command)
    if actions:  # `queue add|list|run [--wait]`, `data pull|list`: read as <command>.action (queue.wait)
        if args and args[0] in actions:
            args[0] = f"{command}.action={args[0]}"
        elif args and "=" not in args[0] and not args[0].startswith("-"):
            print(f"error: `{command} {args[0]}`: use `critpt-harness {command} {'|'.join(actions)}`", file=sys.stderr)
            sys.exit(2)
        args = ["queue.wait=true" if a == "--wait" and command == "queue" else a for a in args]
    if command == "check":  # `check --all`: every failing problem's reason, not the first 8
        args = ["checks.show_all=true" if a == "--all" else a for a in args]
    try:  # `view runs/a --port 9000` -> view.runs=['runs/a'] view.port=9000
        from .commands.arguments import to_overrides

        args = to_overrides(command, args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    _ARGV = [command, *args]
    from .config import overrides
    from .errors import ConfigError
    from .hydra_app import config_groups

    try:  # before Hydra: an unknown key gets our message, never Hydra's "+key" advice
        if any("=" in a or a.startswith("~") for a in args):  # overrides (the rest passes through as is)
            args = overrides.check(args, command, config_groups())
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    # Hydra takes overrides as one run of positional arguments: put command= in that run.
    first = next((i for i, a in enumerate(args) if "=" in a and not a.startswith("-")), len(args))
    args.insert(first, f"command={command}")
    sys.argv = [sys.argv[0] if sys.argv else "critpt-harness", *args]
    from .hydra_app import composition_file, hydra_main, run_cached, run_once

    if any(a.startswith("-") for a in args):
        config_module.register()
        hydra_main(_task)
        return
    remember = composition_file(args)
    if not run_cached(remember, _task):  # this command line composed before: no Hydra at all
        config_module.register()
        run_once(args, _task, remember)


if __name__ == "__main__":
    main()
