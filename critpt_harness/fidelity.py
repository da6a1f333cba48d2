"""Where a run's set-up differs from the official pipeline's, in words a report can print.

The official pipeline (CritPt-Benchmark/CritPt at the pinned commit, run with inspect-ai):
its prompt text, a bash and a python tool with 1800 s per call and no cap on calls, network on and
no memory cap for model code, reasoning kept across turns, and a request holding one assistant
message with the final reply and the raw formatting-turn reply as the code.
"""

from __future__ import annotations

from typing import Any, Dict, List

OFFICIAL_TOOL_SECONDS = 1800
# Said wherever the unconfined subprocess backend ran model code (records, manifest, report).
UNISOLATED = "model code ran UNISOLATED (chosen: sandbox.backend=subprocess)"
# How the report names each isolation a record or checks file holds.
ISOLATION = {"bwrap": "bwrap (its own folder only, no network)",
             "landlock": "landlock (reads only the interpreter, writes only its own folder; no sockets)",
             "docker": "docker (throwaway container, no network)",
             "subprocess": f"subprocess: {UNISOLATED}; it could read and write your files",
             "skipped": "nothing: execution checks skipped, no sandbox that isolates could run here"}


def differences(config: Dict[str, Any], manifest: Dict[str, Any]) -> List[str]:
    """Each setting of the run that differs from the official set-up (empty: none known)."""
    out: List[str] = []
    prompts = manifest.get("prompts") or {}
    if prompts.get("source") != "official":
        out.append("prompts: paraphrased (not the official text), so the score is not comparable to published "
                   "ones (prompts.source=official fetches the official text)")
    gen = config.get("generation") or {}
    if gen.get("use_python"):
        tools = gen.get("tools") or {}
        box = tools.get("sandbox") or {}
        if not tools.get("bash", False):
            out.append("tools: no bash tool (official: bash and python)")
        if box.get("timeout") not in (None, OFFICIAL_TOOL_SECONDS):
            out.append(f"tools: {box.get('timeout'):g} s per call (official: {OFFICIAL_TOOL_SECONDS} s)")
        if tools.get("max_calls") is not None:
            out.append(f"tools: at most {tools['max_calls']} calls per conversation (official: no cap)")
        if tools.get("max_seconds") is not None:
            out.append(f"tools: {tools['max_seconds']:g} s of tool time per conversation (official: no cap)")
        if box.get("block_network", True):
            out.append("tools: model code has no network (official: on); kept off so that model-written code "
                       "cannot reach your network")
        if box.get("memory_mb") is not None:
            out.append(f"tools: model code memory capped at {box['memory_mb']} MB (official: no cap)")
    if gen.get("keep_reasoning") is False:
        out.append("reasoning items are not replayed in later turns (official: kept)")
    evaluator = config.get("evaluator") or {}
    if evaluator.get("messages", "official") != "official":
        out.append(f"request: evaluator.messages={evaluator['messages']} (official: one assistant message with the "
                   "final reply)")
    if evaluator.get("generated_code", "raw") != "raw":
        out.append(f"request: evaluator.generated_code={evaluator['generated_code']} (official: the raw "
                   "formatting-turn reply)")
    return out
