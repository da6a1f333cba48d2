"""`check-sandbox`, and the one line a run prints about where model code will run.

The uses of a sandbox: the python/bash tools (``generation.use_python``), the execution checks
(``checks.execute``) and the local judge (a private set, or ``grade-local``). Where no backend
that isolates can run, the tools and the judge refuse before the first model call; the
execution checks are skipped with a notice (the static checks still run).
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from ..config import HarnessConfig
from ..config.sandbox import SandboxConfig
from ..runs import RunFolder
from . import Echo

_SAID: set = set()


def uses(cfg: HarnessConfig, *, tools: bool = True, checks: bool = True,
         judge: bool = False) -> List[Tuple[str, SandboxConfig, bool]]:
    """(use, its sandbox settings, whether it refuses without isolation) for what this command runs."""
    out: List[Tuple[str, SandboxConfig, bool]] = []
    if tools and cfg.generation.use_python:
        out.append(("tools", cfg.generation.tools.sandbox, True))
    if checks and cfg.checks.execute:
        from ..checks.sandboxed import refuses_unisolated

        out.append(("checks", cfg.checks.sandbox, refuses_unisolated(cfg.checks.sandbox)))
    if judge:
        out.append(("judge", cfg.grader.sandbox, True))
    return out


def announce(cfg: HarnessConfig, echo: Echo, *, tools: bool = True, checks: bool = True, judge: bool = False,
             run: Optional[RunFolder] = None) -> None:
    """Print the isolation in force (once per line and process) and keep it in the manifest;
    raise SandboxUnavailable, before any model call, for a use that must refuse."""
    todo = uses(cfg, tools=tools, checks=checks, judge=judge)
    if not todo:
        return
    from ..tools.sandbox import SandboxUnavailable, choose, describe

    kept: Dict[str, object] = {}
    for use, box, refuses in todo:
        try:
            iso = choose(box)
        except SandboxUnavailable as exc:
            if refuses:
                raise
            line = f"sandbox: the execution checks are skipped (the static checks still run): {exc}"
            kept[use] = {"backend": None, "isolated": False, "skipped": str(exc).splitlines()[0]}
        else:
            line = describe(iso)
            kept[use] = iso.summary()
        if line not in _SAID:
            _SAID.add(line)
            echo(line)
    if run is not None and kept and run.manifest_file.exists():
        isolation = dict(run.manifest().get("isolation") or {})
        isolation.update(kept)
        run.update_manifest(isolation=isolation)


def cmd_check_sandbox(cfg: HarnessConfig, run: RunFolder, echo: Echo = print) -> None:
    """Run the hostile probes in the backend `auto` (or sandbox.backend) would choose; print the table."""
    from ..errors import HarnessError
    from ..tools.probe import run_probe_sync, table
    from ..tools.sandbox import SandboxUnavailable, choose, describe, forget

    box = cfg.checks.sandbox
    forget()
    try:
        iso = choose(box)
    except SandboxUnavailable as exc:
        echo(str(exc))
        raise HarnessError("no sandbox that isolates can run here: the python/bash tools and the local judge "
                           "refuse, the execution checks are skipped") from None
    for what, why in iso.tried:
        echo(f"not used: {what}: {why}")
    echo(describe(iso))
    folder = run.path if run.path.is_dir() else None
    probe = run_probe_sync(iso.backend, box, bwrap=iso.bwrap, run_folder=folder, wall=True)
    rows = table(probe)
    width = max(len(r[0]) for r in rows)
    echo(f"{'attempt by the code':<{width}}  {'result':<9}  detail")
    for what, mark, detail in rows:
        echo(f"{what:<{width}}  {mark:<9}  {detail}")
    if iso.backend == "subprocess":
        echo("the subprocess backend isolates nothing: every NOT HELD row above is open to model code")
    elif not probe.held:
        raise HarnessError(f"the {iso.backend} sandbox did not hold: {probe.problem}")
