"""The reader commands take run folders as positional arguments and a few flags
(`view runs/a --port 9000`), turned into their config keys before Hydra parses them."""

from __future__ import annotations

import pytest

from critpt_harness.commands.arguments import to_overrides

from .conftest import make_config


@pytest.mark.parametrize("args, expected", [
    (["runs/a", "runs/b", "--port", "9000"], ["view.runs=['runs/a','runs/b']", "view.port=9000"]),
    (["--port=0", "runs/*/*"], ["view.runs=['runs/*/*']", "view.port=0"]),
    (["runs/a", "view.refresh_seconds=0", "--cfg", "job"], ["view.runs=['runs/a']", "view.refresh_seconds=0", "--cfg",
                                                            "job"]),
    ([], []),
])
def test_view_arguments_become_config_keys(args, expected):
    assert to_overrides("view", args) == expected


def test_awkward_paths_survive_hydras_parser(tmp_path):
    paths = ["runs/it's here", "runs/a b,c", "null", "runs/[x]", "ends\\"]
    overrides = to_overrides("table", [*paths, "--output", "out put.csv", "--format", "json"])
    cfg = make_config("command=table", *overrides)
    assert cfg.table.runs == paths and cfg.table.output == "out put.csv" and cfg.table.format == "json"


def test_a_flag_without_its_value_is_refused():
    with pytest.raises(ValueError, match="--level needs a value"):
        to_overrides("table", ["runs/a", "--level"])


def test_other_commands_are_left_alone():
    assert to_overrides("run", ["model=mock", "--cfg", "job"]) == ["model=mock", "--cfg", "job"]


def test_hydras_flags_keep_their_values():
    assert to_overrides("view", ["--info", "runs/a"]) == ["view.runs=['runs/a']", "--info"]
    assert to_overrides("view", ["-i", "config", "runs/a"]) == ["view.runs=['runs/a']", "-i", "config"]
