"""Every command is registered once (critpt_harness/commands.py): the CLI, the config's check,
`--help` and the README's command table follow the registry."""

from __future__ import annotations

import re

from critpt_harness.commands import COMMANDS, NAMES, STAGES, handler

from .conftest import REPO, run_cli


def test_every_command_has_a_handler_and_the_cli_accepts_exactly_the_registry():
    assert all(callable(handler(name)) for name in NAMES)
    refused = run_cli("command=nonesuch", "model=mock")
    assert refused.returncode != 0 and "unknown command 'nonesuch'" in refused.stderr
    assert set(STAGES) < set(NAMES) and "generate" not in STAGES


def test_help_and_the_readme_list_every_command():
    out = run_cli("--help")
    listed = re.findall(r"^  (\S+)\s{2,}", out.stdout.split("commands:")[1].split("examples:")[0], re.M)
    assert tuple(listed) == NAMES
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    in_table = set(re.findall(r"^\| `critpt-harness ([a-z-]+)[` ]", readme, re.M))
    assert in_table == set(NAMES), f"README command table: {sorted(in_table ^ set(NAMES))}"
    assert all(c.summary for c in COMMANDS)
