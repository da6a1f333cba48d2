"""The python tool of the "code" protocol: its schema, the per-conversation
budget, and running a call in the sandbox."""

from __future__ import annotations

import dataclasses
import json
import os
import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Tuple

from .config import ToolsConfig
from .llm import ToolCall
from .sandbox import SandboxUnavailable, run_python
from .secrets import redact

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


@dataclass
class ToolBudget:
    """Tool calls and wall time left for one conversation."""

    cfg: ToolsConfig
    calls: int = 0
    started: float = field(default_factory=time.monotonic)
    # Environment variables whose values are masked in tool results; empty = set_key_names's.
    key_names: Tuple[str, ...] = ()

    def exhausted(self) -> bool:
        return self.calls >= self.cfg.max_calls or time.monotonic() - self.started >= self.cfg.max_seconds

    def why(self) -> str:
        if self.calls >= self.cfg.max_calls:
            return f"the limit of {self.cfg.max_calls} tool calls is reached"
        return f"the tool time budget of {self.cfg.max_seconds:.0f}s is used up"


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


LIMIT_REACHED = "Tool budget exhausted: {why}. Do not call tools again; give your final answer now."


async def execute(call: ToolCall, budget: ToolBudget, turn: int) -> tuple[str, Dict[str, Any]]:
    """Run one tool call; returns (output for the model, entry for the record)."""
    names = budget.key_names or _KEY_NAMES.get()
    entry: Dict[str, Any] = {"turn": turn, "id": call.id, "name": call.name,
                             "arguments": mask_keys(call.arguments or "", names)}
    if budget.exhausted():
        output = LIMIT_REACHED.format(why=budget.why())
        entry.update(output=output, skipped=True)
        return output, entry
    budget.calls += 1
    if call.name != "python":
        output = f"Unknown tool {call.name!r}: the only tool is `python`."
        entry.update(output=output)
        return output, entry
    try:
        code = json.loads(call.arguments or "{}")["code"]
        if not isinstance(code, str):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        output = 'Invalid arguments: expected JSON {"code": "<python script>"}.'
        entry.update(output=output)
        return output, entry
    try:
        result = await run_python(code, budget.cfg.sandbox)
    except SandboxUnavailable as exc:
        output = f"The python tool is unavailable: {exc}."
        entry.update(code=mask_keys(code, names), output=output, isolation=None)
        return output, entry
    output = mask_keys(result.as_tool_output(), names)
    entry.update(code=mask_keys(code, names), output=output,
                 exit_code=result.exit_code, timed_out=result.timed_out, truncated=result.truncated,
                 duration_s=result.duration_s, **result.record())
    return output, entry


def tool_specs(use_python: bool) -> Optional[List[Dict[str, Any]]]:
    return [PYTHON_TOOL] if use_python else None
