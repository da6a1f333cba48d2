"""Experiment tracking: with ``tracking=mlflow`` every stage end (generate, assemble, submit,
grade-local, report) logs the run to MLflow. A tracking failure is a warning: the run goes on
and loses nothing. Kept import-light: the tracker's package loads only when it is used."""

from __future__ import annotations

import importlib.util
import logging
from typing import Any, Callable

from ..config.tracking import TRACKING_BACKENDS
from ..errors import ConfigError

log = logging.getLogger(__name__)
EXTRA = "pip install 'critpt-harness[tracking]'"
# backend -> (the package it needs, the module here that logs to it)
MODULES = {"mlflow": ("mlflow", "mlflow_log")}


def check(cfg: Any) -> None:
    """A tracking backend that is unknown or not installed is a config error, before any work."""
    backend = cfg.tracking.backend
    if backend not in TRACKING_BACKENDS:
        raise ConfigError(f"tracking.backend={backend!r}: use one of {', '.join(TRACKING_BACKENDS)} "
                          "(e.g. tracking=mlflow)")
    if backend in MODULES and importlib.util.find_spec(MODULES[backend][0]) is None:
        raise ConfigError(f"tracking={backend} needs the {MODULES[backend][0]} package, which is not installed: "
                          f"{EXTRA} (or tracking=none)")


def stage_end(cfg: Any, run: Any, stage: str, echo: Callable[[str], None] = print) -> None:
    """Log the run as it stands after ``stage``; never raises."""
    backend = cfg.tracking.backend
    if backend not in MODULES or not run.exists():
        return
    try:
        from importlib import import_module

        where = import_module(f"{__name__}.{MODULES[backend][1]}").log_stage(cfg, run.path, stage)
        log.info("tracking: %s logged after %s (%s)", backend, stage, where)
    except Exception as exc:  # a tracker's failure must never fail or lose the run
        echo(f"warning: tracking ({backend}) failed after {stage}: {type(exc).__name__}: {exc}; the run itself "
             f"is unaffected (the next stage logs again)")
