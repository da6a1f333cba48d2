"""`critpt-harness --help` (the commands and the config groups) and `critpt-harness <command> --help`
(what the command does, the keys it reads, one line each from the schema's field docs, and one
example; the full composed config stays behind `--cfg job`). Built from the commands table and the
schema's source, without Hydra: help answers at once. The config groups come from hydra_app."""

from __future__ import annotations

import textwrap
from typing import Dict, List

from . import command, usage

WIDTH = 118
SUMMARY = 320  # a key's first sentence, wrapped: up to about three lines


def overview(groups: Dict[str, List[str]]) -> str:
    """`critpt-harness --help`: the commands and each config group's options."""
    listing = "\n".join(f"  {g}: {', '.join(options)}" for g, options in groups.items())
    return f"""usage: critpt-harness <command> [key=value ...]

commands:
{usage()}

examples:
  critpt-harness run                                   # offline: mock model, dry-run submission
  critpt-harness run model=openai model.name=gpt-4o dataset.limit=3 generation.epochs=1   # a smoke test
  critpt-harness submit evaluator.dry_run=false        # the latest run of the model, graded
  critpt-harness run --cfg job                         # print the composed config
  critpt-harness run --help                            # what run does, the keys it reads, an example

config groups (group=option):
{listing}
API keys are read from the environment variables the config names (or a .env file)."""


def command_help(name: str, groups: Dict[str, List[str]]) -> str:
    """``groups``: each config group's options (hydra_app.config_groups)."""
    from ..config import fields  # the schemas: not for the overview, which lists commands only

    spec = command(name)
    rows: List[tuple] = []
    for key in spec.reads:
        if key in groups:
            rows.append((f"{key}=<name>", "a config of configs/" + key + "/: " + ", ".join(groups[key])))
        else:
            rows.append((key, fields.summary(key, SUMMARY) or fields.schema()[key].annotation))
    width = max(len(k) for k, _ in rows) + 2
    wrap = textwrap.TextWrapper(width=WIDTH, initial_indent="", subsequent_indent=" " * (width + 2))
    keys = "\n".join(wrap.fill(f"  {k:<{width}}{text}") for k, text in rows)
    stage = ("\nWithout run_dir it works on the model's latest run (runs/<model>/latest), and says which.\n"
             if spec.stage else "")
    words = f" {spec.words}" if spec.words else ""
    return f"""usage: critpt-harness {name}{words} [key=value ...]

{textwrap.fill(f"critpt-harness {name}: {spec.summary}.", WIDTH)}
{stage}
keys it reads (key=value; `critpt-harness {name} --cfg job` prints every key with its value):
{keys}

example:
  {spec.example}

Every command: critpt-harness --help. API keys are read from the environment variables the config names."""
