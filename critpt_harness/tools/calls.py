"""The tools of the "code" protocol (python and bash, as the official solver gives):
their schemas, the per-conversation budget, and running a call in the sandbox."""

from __future__ import annotations

import dataclasses
import json
import os
import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Protocol, Tuple

from ..config import ToolsConfig
from .sandbox import SandboxUnavailable, run_python
from ..secrets import redact

PYTHON_TOOL: Dict[str, Any] = {
    "name": "python",
    "description": (
        "Run a Python 3 script and return what it prints (stdout and stderr). Each call is a fresh "
        "process with numpy, scipy and sympy available, no network and a time limit: print every "
        "value you want to see."
    ),
    "parameters": {
        "type": "object",
        "properties": {"code": {"type": "string", "description": "The complete Python script to run."}},
        "required": ["code"],
        "additionalProperties": False,
    },
}


BASH_TOOL: Dict[str, Any] = {
    "name": "bash",
    "description": (
        "Run a bash script and return what it prints (stdout and stderr). Each call is a fresh shell in "
        "the same sandbox as the python tool: its own working folder, no network and a time limit."
    ),
    "parameters": {
        "type": "object",
        "properties": {"cmd": {"type": "string", "description": "The bash script to run."}},
        "required": ["cmd"],
        "additionalProperties": False,
    },
}
# (argument name, what the sandbox runs for it); bash goes through the same python launcher and sandbox.
_TOOLS = {"python": ("code", lambda code: code),
          "bash": ("cmd", lambda cmd: f"import subprocess, sys\nsys.exit(subprocess.run(['bash', '-c', {cmd!r}]).returncode)")}


@dataclass
class ToolBudget:
    """Tool calls and wall time left for one conversation."""

    cfg: ToolsConfig
    calls: int = 0
    started: float = field(default_factory=time.monotonic)
    # Environment variables whose values are masked in tool results; empty = set_key_names's.
    key_names: Tuple[str, ...] = ()

    def exhausted(self) -> bool:
        # null limits: no cap, as the official solver has none
        return ((self.cfg.max_calls is not None and self.calls >= self.cfg.max_calls)
                or (self.cfg.max_seconds is not None and time.monotonic() - self.started >= self.cfg.max_seconds))

    def why(self) -> str:
        if self.cfg.max_calls is not None and self.calls >= self.cfg.max_calls:
            return f"the limit of {self.cfg.max_calls} tool calls is reached"
        return f"the tool time budget of {self.cfg.max_seconds or 0:.0f}s is used up"


# The environment variables the config names as keys, for masking tool output (set per run
# by generate_async with set_key_names; tasks started after it inherit the value).
_KEY_NAMES: ContextVar[Tuple[str, ...]] = ContextVar("critpt_key_names", default=())


def key_env_names(cfg: Any) -> Tuple[str, ...]:
    """Every environment variable the config names as holding a key: the value of each
    field ending in ``api_key_env`` anywhere in the config tree (model, evaluator,
    grader, every catalog API). The one place that knows where keys are named."""
    names: List[str] = []

    def walk(node: Any) -> None:
        if dataclasses.is_dataclass(node) and not isinstance(node, type):
            items: Iterable[Tuple[str, Any]] = ((f.name, getattr(node, f.name)) for f in dataclasses.fields(node))
        elif isinstance(node, dict):
            items = node.items()
        else:
            return
        for key, value in items:
            if isinstance(key, str) and key.endswith("api_key_env"):
                if isinstance(value, str) and value and value not in names:
                    names.append(value)
            else:
                walk(value)

    walk(cfg)
    return tuple(names)


def set_key_names(names: Iterable[str]) -> None:
    """Mask these variables' values in every tool result of this run (this task and its children)."""
    _KEY_NAMES.set(tuple(names))


def mask_keys(text: str, names: Iterable[str]) -> str:
    """Replace the value of each named environment variable by ``[masked: NAME]``, then any
    key the harness has read (secrets.redact): a second line of defence after the sandbox."""
    values = [(os.environ.get(n, "").strip(), n) for n in names]
    for value, name in sorted((v for v in values if len(v[0]) >= 4), key=lambda v: -len(v[0])):
        text = text.replace(value, f"[masked: {name}]")
    return redact(text)


class Call(Protocol):
    """A tool call as the model made it (generation/models/base.py's ToolCall)."""

    id: str
    name: str
    arguments: str  # JSON text, as the model wrote it


LIMIT_REACHED = "Tool budget exhausted: {why}. Do not call tools again; give your final answer now."


async def execute(call: Call, budget: ToolBudget, turn: int) -> tuple[str, Dict[str, Any]]:
    """Run one tool call; returns (output for the model, entry for the record)."""
    names = budget.key_names or _KEY_NAMES.get()
    entry: Dict[str, Any] = {"turn": turn, "id": call.id, "name": call.name,
                             "arguments": mask_keys(call.arguments or "", names)}
    if budget.exhausted():
        output = LIMIT_REACHED.format(why=budget.why())
        entry.update(output=output, skipped=True)
        return output, entry
    budget.calls += 1
    offered = ["python"] + (["bash"] if budget.cfg.bash else [])
    if call.name not in offered:
        output = f"Unknown tool {call.name!r}: the tools are {', '.join(f'`{t}`' for t in offered)}."
        entry.update(output=output)
        return output, entry
    arg, launcher = _TOOLS[call.name]
    try:
        code = json.loads(call.arguments or "{}")[arg]
        if not isinstance(code, str):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        output = f'Invalid arguments: expected JSON {{"{arg}": "<{call.name} script>"}}.'
        entry.update(output=output)
        return output, entry
    try:
        result = await run_python(launcher(code), budget.cfg.sandbox)
    except SandboxUnavailable as exc:
        output = f"The {call.name} tool is unavailable: {exc}."
        entry.update(code=mask_keys(code, names), output=output, isolation=None)
        return output, entry
    output = mask_keys(result.as_tool_output(), names)
    entry.update(code=mask_keys(code, names), output=output,
                 exit_code=result.exit_code, timed_out=result.timed_out, truncated=result.truncated,
                 duration_s=result.duration_s, **result.record())
    return output, entry


def tool_specs(use_python: bool, bash: bool = True) -> Optional[List[Dict[str, Any]]]:
    """The "code" protocol's tools: python, and bash next to it unless generation.tools.bash=false."""
    if not use_python:
        return None
    return [PYTHON_TOOL, BASH_TOOL] if bash else [PYTHON_TOOL]
