"""`view`, `table` and `compare`: reading run folders, never writing them."""

from __future__ import annotations

from ..config import HarnessConfig
from ..runs import RunFolder
from . import Echo


def cmd_view(cfg: HarnessConfig, run: RunFolder, echo: Echo = print) -> None:
    """The run viewer on 127.0.0.1 until Ctrl-C."""
    from ..view.serve import serve_viewer

    serve_viewer(cfg, echo=echo)


def cmd_table(cfg: HarnessConfig, run: RunFolder, echo: Echo = print) -> None:
    """Every run as one table: csv, parquet, json or markdown."""
    from ..analysis.table import cmd_table as table

    table(cfg, echo)


def cmd_compare(cfg: HarnessConfig, run: RunFolder, echo: Echo = print) -> None:
    """Run A against run B."""
    from ..analysis.compare import cmd_compare as compare

    compare(cfg, echo)
