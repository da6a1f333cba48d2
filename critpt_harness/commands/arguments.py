"""A reader command's positional arguments and flags as Hydra overrides, before Hydra parses
anything: `view runs/a --port 9000` is `view.runs=['runs/a'] view.port=9000` (the keys come from
the command's entry in the table)."""

from __future__ import annotations

from typing import List

from ..config.overrides import quoted
from . import command

# Hydra's own flags that take a value (`--cfg job`): that value is not a positional argument.
_HYDRA_VALUED = ("--cfg", "-c", "--package", "-p", "--config-path", "-cp", "--config-name", "-cn", "--config-dir",
                 "-cd")
_HYDRA_INFO = (("--info", "-i"), ("all", "config", "defaults", "defaults-tree", "plugins", "searchpath"))  # optional value
def _hydra_value(args: List[str], i: int) -> bool:
    """Is args[i + 1] the value of Hydra's flag args[i]?"""
    if i + 1 >= len(args):
        return False
    flag, nxt = args[i], args[i + 1]
    return (flag in _HYDRA_VALUED and not nxt.startswith("-")) or (flag in _HYDRA_INFO[0] and nxt in _HYDRA_INFO[1])


def to_overrides(name: str, args: List[str]) -> List[str]:
    """The command's positional arguments and flags as overrides; other arguments pass unchanged.
    ValueError names a flag given without its value."""
    spec = command(name)
    if not spec.positional and not spec.flags:
        return args
    flags = dict(spec.flags)
    out: List[str] = []
    positional: List[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        flag, eq, value = arg.partition("=")
        if flag in flags:
            if not eq:
                if i + 1 >= len(args):
                    raise ValueError(f"{flag} needs a value (`{name} {flag} VALUE`)")
                i, value = i + 1, args[i + 1]
            out.append(f"{flags[flag]}={quoted(value)}")
        elif _hydra_value(args, i):
            out += [arg, args[i + 1]]
            i += 1
        elif spec.positional and "=" not in arg and not arg.startswith("-"):
            positional.append(arg)
        else:
            out.append(arg)
        i += 1
    if positional:
        out.insert(0, f"{spec.positional}=[{','.join(quoted(p, always=True) for p in positional)}]")
    return out
