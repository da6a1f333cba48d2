"""Command-line overrides checked against the schema before Hydra composes anything.

Hydra answers an unknown key with "use +key=value", and `+` then adds the key silently: the run
goes on without it (`+generation.epoch=3` ran 5 epochs). Here an unknown key is an error naming the
closest existing keys, `+` is taken only inside the schema's open mappings (model.extra_body ...),
and a missing required key is named before any interpolation trips over it.
"""

from __future__ import annotations

import difflib
import re
from typing import Any, Dict, List

from .fields import LIST, OPEN, lookup, open_mappings, schema

# prefix (+ add, ++ add or override, ~ delete), key (@package), value
_OVERRIDE = re.compile(r"^(\+\+|\+|~)?([A-Za-z_][\w./-]*)(@[\w.]*)?(=(.*))?$", re.S)
_SWEEP = re.compile(r"^\s*(choice|range|interval|glob|shuffle|sort)\(")

_PLAIN = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:")


def quoted(value: str, always: bool = False) -> str:
    """A value as one Hydra override value: quoted unless it is plain (``always``: a path named
    `null` or `1` stays a string)."""
    if value and set(value) <= _PLAIN and not always:
        return value
    # Hydra's quoted strings: a backslash escapes only a quote, or the backslashes before one.
    body = re.sub(r"(\\*)'", lambda m: m.group(1) * 2 + "\\'", value)
    trailing = len(body) - len(body.rstrip("\\"))
    return "'" + body + "\\" * trailing + "'"


def closest(key: str, limit: int = 3) -> List[str]:
    """The schema's keys nearest to ``key``, from its own group when that group exists."""
    keys = [k for k in schema() if not key.startswith(k + ".")]  # not the group the key is in
    top = key.split(".")[0]
    mine = [k for k in keys if k.split(".")[0] == top]
    found = difflib.get_close_matches(key, mine or keys, n=limit, cutoff=0.8)
    if not found:  # a typo in the group's name itself: compare the last part with every key's
        leaf = key.split(".")[-1]
        found = [k for k in keys if difflib.SequenceMatcher(None, leaf, k.split(".")[-1]).ratio() >= 0.8][:limit]
    return found


def _unknown(shown: str, key: str, command: str) -> str:
    near = closest(key)
    hint = f"; the closest: {', '.join(near)}" if near else ""
    return (f"{shown}: {key} is not a config key{hint}. `critpt-harness {command} --help` lists the keys "
            f"{command} reads; `critpt-harness {command} --cfg job` prints every key with its value.")


def check(args: List[str], command: str, groups: Dict[str, List[str]]) -> List[str]:
    """The overrides as Hydra should get them, or ConfigError for a key the schema does not have;
    ``groups``: each config group's options (hydra_app.config_groups).

    Keys inside an open mapping are passed as ``++key`` (added, or replaced if the YAML sets them),
    so that ``model.extra_body.top_k=20`` works with or without a ``+``."""
    from ..errors import ConfigError

    out: List[str] = []
    for arg in args:
        m = _OVERRIDE.match(arg)
        if arg.startswith("-") and not arg.startswith(("+", "~")) or m is None or (m.group(4) is None
                                                                                   and m.group(1) != "~"):
            out.append(arg)  # a Hydra flag (--cfg job, -m) or a flag's value
            continue
        prefix, key, value = m.group(1) or "", m.group(2), m.group(5) or ""
        if key == "hydra" or key.startswith(("hydra.", "hydra/")):
            out.append(arg)
            continue
        if key in groups:
            if not prefix and not _SWEEP.match(value):
                for option in value.split(","):
                    if option not in groups[key] and option != "null":
                        near = difflib.get_close_matches(option, groups[key], n=2, cutoff=0.5)
                        raise ConfigError(f"{key}={option}: there is no {key} config {option!r}"
                                          + (f" (the closest: {', '.join(near)})" if near else "")
                                          + f"; the choices: {', '.join(groups[key])}")
            out.append(arg)
            continue
        found, below = lookup(key)
        if found is None:
            if prefix.startswith("+"):
                raise ConfigError(_unknown(arg, key, command).replace(
                    ". `critpt", f". `{prefix}` adds a key only inside an open mapping "
                                f"({', '.join(open_mappings())}). `critpt", 1))
            raise ConfigError(_unknown(arg, key, command))
        if found.kind == OPEN and (below or prefix == "+"):
            out.append(f"++{key}={value}")
        elif prefix == "+" and not (below and found.kind == LIST):
            raise ConfigError(f"{arg}: {key} is a key of the config already: set it without the +: "
                              f"{key}={value}")
        else:
            out.append(arg)
    return out


def missing_keys(tree: Any, prefix: str = "") -> List[str]:
    """The keys still ??? in a composed config (as a plain container: nothing is resolved)."""
    if isinstance(tree, dict):
        return [k for key, value in tree.items() for k in missing_keys(value, f"{prefix}{key}.")]
    return [prefix[:-1]] if tree == "???" else []


def missing_message(keys: List[str]) -> str:
    """A required key (??? in the chosen config) left unset."""
    shown = ", ".join(keys)
    if "model.name" in keys:
        return (f"{shown} must be set: the chosen model config names no model. Pass model.name=<the model's id "
                "at the endpoint>, e.g. model=openai_compatible model.name=my-model "
                "model.base_url=http://localhost:8000/v1 model.api_key_env=MY_KEY")
    return f"{shown} must be set (??? in the chosen config): pass " + " ".join(f"{k}=..." for k in keys)


def value_message(override: str, key: str, reason: str) -> str:
    """A value the schema's type refuses (Hydra's "Error merging override"), said with the key's
    type and default instead of Hydra's trace of reference types."""
    found, _ = lookup(key)
    reason = reason.splitlines()[0].rstrip(".") if reason else "the value does not fit the key's type"
    if found is None:
        return f"{override}: {reason}"
    example = f"; e.g. {key}={found.default}" if found.default and not found.default.startswith("???") else ""
    return f"{override}: {reason}. {key} takes {found.annotation.replace('typing.', '')}{example}."
