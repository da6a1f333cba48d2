"""The python tool of the "code" protocol: its schema, the per-conversation
budget, and running a call in the sandbox."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from .config import ToolsConfig
from .llm import ToolCall
from .sandbox import run_python

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

    def exhausted(self) -> bool:
        return self.calls >= self.cfg.max_calls or time.monotonic() - self.started >= self.cfg.max_seconds

    def why(self) -> str:
        if self.calls >= self.cfg.max_calls:
            return f"the limit of {self.cfg.max_calls} tool calls is reached"
        return f"the tool time budget of {self.cfg.max_seconds:.0f}s is used up"


LIMIT_REACHED = "Tool budget exhausted: {why}. Do not call tools again; give your final answer now."


async def execute(call: ToolCall, budget: ToolBudget, turn: int) -> tuple[str, Dict[str, Any]]:
    """Run one tool call; returns (output for the model, entry for the record)."""
    entry: Dict[str, Any] = {"turn": turn, "id": call.id, "name": call.name, "arguments": call.arguments}
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
    result = await run_python(code, budget.cfg.sandbox)
    output = result.as_tool_output()
    entry.update(code=code, output=output, exit_code=result.exit_code, timed_out=result.timed_out,
                 truncated=result.truncated, duration_s=result.duration_s, network_blocked=result.network_blocked)
    return output, entry


def tool_specs(use_python: bool) -> Optional[List[Dict[str, Any]]]:
    return [PYTHON_TOOL] if use_python else None
