"""`data pull` / `data list`: the problem set and prompt text for nodes without a network."""

from __future__ import annotations

from ..config import HarnessConfig
from ..errors import ConfigError
from ..runs import RunFolder
from . import Echo


def cmd_data(cfg: HarnessConfig, run: RunFolder, echo: Echo = print) -> None:
    from ..data import pull

    if cfg.data.action == "list":
        for line in pull.listing(cfg):
            echo(line)
    elif cfg.data.action == "pull":
        pulled = pull.pull(cfg, echo)
        echo("on a compute node without a network, run with:")
        echo(f"  {pulled.line}")
    else:
        raise ConfigError(f"data.action={cfg.data.action!r}: use `critpt-harness data pull` or `data list`")
