"""`catalog` and `report`: the published scores beside the run's, and the report."""

from __future__ import annotations

from ..config import HarnessConfig
from ..runs import RunFolder
from . import Echo


def cmd_catalog(cfg: HarnessConfig, run: RunFolder, echo: Echo = print) -> None:
    """Snapshot the public catalogs into the run folder (or runs/catalog/<date>/)."""
    from ..catalogs.snapshot import cmd_catalog as snapshot

    if not cfg.catalog.enabled:
        echo("catalog: off (catalog.enabled=false); no snapshot taken")
        return
    snapshot(cfg.catalog, run if run.exists() else None, model_name=cfg.model.name,
             model_label=cfg.model.label, model_ids=cfg.model.catalog_ids or None, echo=echo)


def cmd_report(cfg: HarnessConfig, run: RunFolder, echo: Echo = print) -> None:
    """report.md + report.html from stored files only (report.runs=[...] for several runs)."""
    from ..report.command import cmd_report as report

    report(cfg, run, echo)
