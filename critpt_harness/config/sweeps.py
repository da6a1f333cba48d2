"""Hydra resolvers and -m sweeps: run folders named after what a sweep varies."""

from __future__ import annotations

import re
import sys
from typing import Any, List


def _first(*values: Any) -> Any:
    """The first value that is set (for `label` falling back to `name`)."""
    return next((v for v in values if v not in (None, "")), "model")


def _stamp() -> str:
    """Local time to the millisecond, e.g. 2026-01-01_12-00-00.042: run folder names sort by start
    and two runs started within one second get two folders."""
    from datetime import datetime

    now = datetime.now()
    return now.strftime("%Y-%m-%d_%H-%M-%S.") + f"{now.microsecond // 1000:03d}"


def _job_suffix() -> str:
    """Inside a -m sweep, '_<what varies>' (e.g. '_generation-one_step'), so each job's run folder
    says what it ran and jobs started in the same second get distinct folders."""
    if "hydra" not in sys.modules:  # a composition read back from the cache: never a sweep job
        return ""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    try:
        hc = HydraConfig.get()
    except ValueError:
        return ""
    if hc.mode != RunMode.MULTIRUN:
        return ""
    parts = [f"{key.split('.')[-1]}-{value}" for key, value in varying_overrides(hc.overrides.task)]
    summary = slugify("_".join(parts))[:60] if parts else ""
    return f"_{summary}" if summary else f"_{hc.job.num}"


def varying_overrides(task_overrides: Any) -> List[tuple]:
    """(key, value) of a sweep job's overrides that the sweep varies (see sweep_keys)."""
    varying = sweep_keys(sys.argv[1:])
    out = []
    for override in task_overrides:
        key, _, value = str(override).partition("=")
        if key.lstrip("+~") in varying:
            out.append((key.lstrip("+~"), value))
    return out


def sweep_keys(args: List[str]) -> set:
    """Keys a -m sweep varies: overrides whose value is a list (a,b), a range(...) or a choice(...).
    A job in another process (joblib, submitit) has other argv: the CLI passes them in CRITPT_SWEEP_KEYS."""
    import os

    passed = os.environ.get("CRITPT_SWEEP_KEYS")
    if passed is not None:
        return {k for k in passed.split(",") if k}
    keys = set()
    for arg in args:
        key, eq, value = arg.partition("=")
        if eq and not arg.startswith("-") and ("," in value or value.startswith(("range(", "choice(", "glob("))):
            if not (value.startswith("[") and value.endswith("]")):  # a list value, not a sweep
                keys.add(key.lstrip("+~"))
    return keys


def slugify(text: Any) -> str:
    """A file-system safe name: 'meta-llama/Llama-4' -> 'meta-llama_Llama-4'."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(text)).strip("_") or "model"
