"""Every key of the config schema, walked once from HarnessConfig: its dotted path, its type as the
schema writes it, its default, and its doc (the comment above or beside the field in the schema's
source). `--help` and the check of command-line keys (overrides.py) read it. Nothing here imports
Hydra or OmegaConf, so a command's help stays fast.
"""

from __future__ import annotations

import dataclasses
import sys
import typing
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

LEAF, NODE, OPEN, LIST = "leaf", "node", "open", "list"


@dataclass(frozen=True)
class Field:
    path: str  # e.g. generation.epochs
    kind: str  # leaf | node (a typed group of keys) | open (a mapping that takes any key) | list
    annotation: str  # the type as the schema writes it, e.g. Optional[int]
    default: str  # as it would be written in an override; "" for nodes
    owner: type  # the dataclass that declares the field
    name: str


def _unwrap(hint: Any) -> Any:
    """Optional[X] -> X."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    return args[0] if typing.get_origin(hint) is typing.Union and len(args) == 1 else hint


def _kind(hint: Any) -> str:
    hint = _unwrap(hint)
    origin = typing.get_origin(hint) or hint
    if dataclasses.is_dataclass(hint):
        return NODE
    if origin in (dict, Dict):
        return OPEN
    if origin in (list, List, tuple, Tuple):
        return LIST
    return LEAF


def _default(f: dataclasses.Field) -> str:
    import json

    if f.default is not dataclasses.MISSING:
        value = f.default
    elif f.default_factory is not dataclasses.MISSING:
        value = f.default_factory()
    else:
        return ""
    if value == "???":
        return "??? (required)"
    try:
        return json.dumps(value).replace('"', "") if not isinstance(value, str) else value
    except TypeError:
        return str(value)


@lru_cache(maxsize=1)
def schema() -> Dict[str, Field]:
    """Every key, by dotted path, in the schema's order."""
    from . import HarnessConfig

    out: Dict[str, Field] = {}

    def walk(cls: type, prefix: str) -> None:
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            path = f"{prefix}{f.name}"
            kind = _kind(hints[f.name])
            out[path] = Field(path, kind, str(f.type), "" if kind == NODE else _default(f), cls, f.name)
            if kind == NODE:
                walk(_unwrap(hints[f.name]), path + ".")

    walk(HarnessConfig, "")
    return out


def open_mappings() -> List[str]:
    """The keys that take keys of the user's own (model.extra_body ...): where `+key=` belongs."""
    return [p for p, f in schema().items() if f.kind == OPEN]


def lookup(path: str) -> Tuple[Optional[Field], str]:
    """(the field, the rest of the path below it) for a dotted path: the rest is non-empty only
    inside an open mapping or a list, whose keys the schema does not list. (None, "") if unknown."""
    fields, parts = schema(), path.split(".")
    for i in range(len(parts), 0, -1):
        found = fields.get(".".join(parts[:i]))
        if found is not None:
            if i == len(parts):
                return found, ""
            return (found, ".".join(parts[i:])) if found.kind in (OPEN, LIST) else (None, "")
    return None, ""


def doc(path: str) -> str:
    """The field's doc: its comment in the schema (or its dataclass's docstring for a node)."""
    f = schema().get(path)
    if f is None:
        return ""
    text = _comments(f.owner).get(f.name, "")
    if not text and f.kind == NODE:
        hint = _unwrap(typing.get_type_hints(f.owner)[f.name])
        text = " ".join((hint.__doc__ or "").split()) if hint.__doc__ and not hint.__doc__.startswith(
            hint.__name__ + "(") else ""  # dataclasses make up a signature docstring when there is none
    return text


def summary(path: str, width: int = 110) -> str:
    """The doc's first sentence, or as much as fits in ``width``."""
    import re

    text = doc(path)
    if len(text) > width:
        end = re.search(r"\.\s+(?=[A-Z(])", text)  # a sentence's end, not "i.e. x"
        text = text[: end.start() + 1] if end and end.start() < width else text[: width - 1].rstrip() + "…"
    return text


@lru_cache(maxsize=None)
def _comments(cls: type) -> Dict[str, str]:
    """Field name -> the comment lines above it and the comment beside it, in ``cls``'s source."""
    import ast

    source = Path(sys.modules[cls.__module__].__file__ or "").read_text(encoding="utf-8")
    lines = source.splitlines()
    node = next(n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.ClassDef) and n.name == cls.__name__)
    out: Dict[str, str] = {}
    for stmt in node.body:
        if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)):
            continue
        above: List[str] = []
        at = stmt.lineno - 2
        while at >= 0 and lines[at].strip().startswith("#"):
            above.insert(0, lines[at].strip().lstrip("#").strip())
            at -= 1
        rest = lines[(stmt.end_lineno or stmt.lineno) - 1][stmt.end_col_offset or 0:].strip()  # after the code
        beside = [rest.lstrip("#").strip()] if rest.startswith("#") else []
        out[stmt.target.id] = " ".join(above + beside).strip()
    return out
