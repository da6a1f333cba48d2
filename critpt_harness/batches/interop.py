"""Moving between this tool and the official CritPt pipeline.

The official pipeline writes one submission JSON per problem under
``results/generations/<challenge>/.../<model>/<epoch>/<problem_id>.json``
(fields problem_id, generated_code, model, generation_config, messages, ...),
and its ``evaluate_all_results.py`` posts every ``*_main.json`` / ``*_sub_*``
file below ``--results-dir`` as one batch.

- import: such a tree becomes a run folder (records per problem and epoch),
  so ``assemble`` / ``check`` / ``submit`` work on it;
- export: each assembled epoch becomes such a tree under
  ``<run>/official/epoch_<k>/``, one epoch per tree, so
  ``evaluate_all_results.py --results-dir <run>/official/epoch_<k>`` posts
  exactly one complete batch.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, cast

from omegaconf import OmegaConf

from ..config import HarnessConfig
from ..contracts import Batch, GenerationFlags, GenerationRecord, Usage
from ..errors import RunFolderError
from ..checks.extract import static_checks
from ..data.problems import Problem
from ..runs import canonical_sha256
from ..runfiles import JsonlAppender, read_json, write_json_atomic
from ..runs import RunFolder, now_iso

log = logging.getLogger(__name__)

# Files the official evaluate script skips; we skip them too.
_SKIP = {"batch_metadata.json", "evaluation_summary.json", "aggregate_report.json", "main.json"}
_SUB_STEP = re.compile(r"^sub_\d+\.json$")


def official_files(root: Path) -> List[Path]:
    """Submission files below ``root``, chosen as evaluate_all_results.py chooses them."""
    out = []
    for path in sorted(root.rglob("*.json")):
        name = path.name
        if name in _SKIP or "_eval.json" in name or _SUB_STEP.match(name):
            continue
        if "_main.json" in name or "_sub_" in name:
            out.append(path)
    return out


def _epoch_of(path: Path) -> int:
    """The official layout puts the epoch (0-based) in the file's parent folder."""
    return int(path.parent.name) if path.parent.name.isdigit() else 0


def _setup_of(path: Path, root: Path) -> str:
    """The folders between a challenge folder and the epoch folder: the model and its set-up labels."""
    parts = path.parent.parent.relative_to(root).parts
    return "/".join(parts[1:]) if len(parts) > 1 else ""


def _artifact(path: Path, problem_id: str) -> Dict[str, Any]:
    """The official generator's step artifact beside a submission (main.json, sub_<k>.json), or {}."""
    m = re.search(r"_(main|sub_\d+)$", problem_id)
    file = path.parent / f"{m.group(1) if m else 'main'}.json"
    try:
        data = json.loads(file.read_text(encoding="utf-8")) if file.is_file() else {}
    except (OSError, json.JSONDecodeError):
        log.warning("%s: not readable; usage and reasoning not imported for %s", file, problem_id)
        return {}
    return data if isinstance(data, dict) else {}


def _from_artifact(artifact: Dict[str, Any]) -> Dict[str, Any]:
    """Token usage, reasoning and tool calls an artifact holds, as record fields."""
    usage = (artifact.get("summary") or {}).get("usage") or {}
    prompt, completion = int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0)
    out: Dict[str, Any] = {"usage": Usage(prompt_tokens=prompt, completion_tokens=completion,
                                          reasoning_tokens=int(usage.get("reasoning_tokens") or 0),
                                          total_tokens=int(usage.get("total_tokens") or prompt + completion))}
    reasoning, tools = [], []
    for msg in artifact.get("chat") or []:
        for block in msg.get("contents") or []:
            if block.get("content_type") == "reasoning" and block.get("content_text"):
                reasoning.append(str(block["content_text"]))
        if msg.get("role") == "tool":
            text = " ".join(str(b.get("content_text", "")) for b in msg.get("contents") or [])
            tools.append({"name": (msg.get("raw") or {}).get("function") or "tool", "output": text, "imported": True})
    if reasoning:
        out["reasoning"] = ["\n\n".join(reasoning)]
    if tools:
        out["tool_calls"] = tools
    return out


def choose(found: List[Tuple[int, Dict[str, Any], Path]], root: Path, model: Optional[str],
           setup: Optional[str]) -> List[Tuple[int, Dict[str, Any], Path]]:
    """One model and one set-up out of a tree that may hold several (interop.model / interop.setup)."""
    def key(item: Tuple[int, Dict[str, Any], Path]) -> Tuple[str, str, str]:
        _, data, path = item
        return (str(data.get("model", "")), _setup_of(path, root),
                json.dumps(data.get("generation_config") or {}, sort_keys=True))

    chosen = [f for f in found if (model is None or model in key(f)[0]) and (setup is None or setup in key(f)[1])]
    groups: Dict[Tuple[str, str, str], int] = {}
    for f in chosen:
        groups[key(f)] = groups.get(key(f), 0) + 1
    if len(groups) != 1:
        all_groups: Dict[Tuple[str, str, str], int] = {}
        for f in found:
            all_groups[key(f)] = all_groups.get(key(f), 0) + 1
        listing = "; ".join(f"model {m!r}, setup {s or '(none)'!r}: {n} files" for (m, s, _), n in sorted(all_groups.items()))
        what = "matches nothing" if not groups else f"still holds {len(groups)} set-ups"
        raise RunFolderError(f"{root} {what} with interop.model={model} interop.setup={setup}. It holds: {listing}. "
                             "Choose one with interop.model=<model> and/or interop.setup=<part of its folder path>.")
    return chosen


def read_official(root: Path) -> List[Tuple[int, Dict[str, Any], Path]]:
    if not root.is_dir():
        raise RunFolderError(f"interop.source={root} is not a folder: give the official results/generations folder")
    found = []
    for path in official_files(root):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise RunFolderError(f"{path}: not a readable submission file ({exc})") from exc
        missing = [k for k in ("problem_id", "generated_code") if k not in data]
        if missing:
            raise RunFolderError(f"{path}: lacks {', '.join(missing)}; is this an official submission file?")
        found.append((_epoch_of(path), data, path))
    if not found:
        raise RunFolderError(f"no official submission files (*_main.json) below {root}")
    return found


def import_official(cfg: HarnessConfig, run: RunFolder, source: Path, problems: Dict[str, Problem],
                    dataset_sha256: str) -> Dict[int, int]:
    """Turn an official generations tree into this run folder; returns {epoch: problems}."""
    if run.generations_file.exists():
        raise RunFolderError(f"{run.path} already holds generations: import into a new run_dir")
    found = choose(read_official(source), source, cfg.interop.model, cfg.interop.setup)
    models = sorted({str(d.get("model", "")) for _, d, _ in found})
    flags_seen = sorted({json.dumps(d.get("generation_config") or {}, sort_keys=True) for _, d, _ in found})
    # the five official flags, as the files give them
    flags = GenerationFlags(**{k: v for k, v in json.loads(flags_seen[0]).items()
                               if k in GenerationFlags.model_fields})
    resolved = cast(Dict[str, Any], OmegaConf.to_container(OmegaConf.structured(cfg), resolve=True))
    resolved["model"].update(name=models[0], label=models[0], provider="imported")
    resolved["generation"].update(parsing=flags.parsing, use_python=flags.use_python,
                                  use_web_search=flags.use_web_search,
                                  epochs=max(e for e, _, _ in found) + 1)
    run.write_config(resolved)
    counts: Dict[int, int] = {}
    with JsonlAppender(run.generations_file) as out:
        for epoch, data, path in found:
            pid = data["problem_id"]
            reply = str(data["generated_code"])
            problem = problems.get(pid)
            code, checks = static_checks(reply, problem.code_template) if problem else (None, [])
            messages = data.get("messages") or []
            # the raw generated_code is the reply (sent as it came); usage, reasoning, tools from the artifact
            record = GenerationRecord(problem_id=pid, epoch=epoch, status="ok", model=models[0],
                                      parsing=flags.parsing, messages=messages, replies=[reply],
                                      extracted_code=code, checks=checks, started_at=str(data.get("timestamp", "")),
                                      finished_at=str(data.get("timestamp", "")), duration_s=0.0,
                                      prompt_hash="official", **_from_artifact(_artifact(path, pid)))
            out.write_model(record)
            counts[epoch] = counts.get(epoch, 0) + 1
    run.update_manifest(dataset_sha256=dataset_sha256, prompt_hash="official", model=models[0],
                        prompts={"source": "official", "note": "imported from the official pipeline's files"},
                        config_hash=canonical_sha256(flags.model_dump()),
                        imported_from={"path": str(source), "files": len(found), "at": now_iso()})
    return counts


def export_official(run: RunFolder, epochs: List[int], out_root: Optional[Path] = None) -> Dict[int, Path]:
    """Write each epoch's batch in the official layout; returns {epoch: tree root}."""
    roots: Dict[int, Path] = {}
    base = out_root or run.path / "official"
    for epoch in epochs:
        path = run.batch_file(epoch)
        if not path.exists():
            raise RunFolderError(f"{path} does not exist: run `critpt-harness assemble run_dir={run.path}` first")
        batch = Batch.model_validate(read_json(path))
        root = base / f"epoch_{epoch}"
        for sub in batch.submissions:
            challenge = re.sub(r"_(main|sub_\d+)$", "", sub.problem_id)
            flags = sub.generation_config
            folder = (root / challenge / f"use_golden_for_prev_steps_{flags.use_golden_for_prev_steps}"
                      / f"parsing_{flags.parsing}" / sub.model.replace("/", "_") / str(epoch))
            data = {**sub.model_dump(mode="json", exclude_none=True), "timestamp": batch.batch_metadata.get(
                "created_at", now_iso())}
            write_json_atomic(folder / f"{sub.problem_id}.json", data)
        roots[epoch] = root
    return roots
