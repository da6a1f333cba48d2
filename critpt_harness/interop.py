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

from .config import HarnessConfig
from .contracts import Batch, GenerationFlags, GenerationRecord
from .errors import RunFolderError
from .extract import static_checks
from .problems import Problem, canonical_sha256
from .runs import JsonlAppender, RunFolder, now_iso, read_json, write_json_atomic

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
    found = read_official(source)
    models = sorted({str(d.get("model", "")) for _, d, _ in found})
    flags_seen = sorted({json.dumps(d.get("generation_config") or {}, sort_keys=True) for _, d, _ in found})
    if len(models) != 1 or len(flags_seen) != 1:
        raise RunFolderError(f"{source} mixes models {models} or generation configs {flags_seen}: "
                             "import one model and one set-up at a time (point interop.source at its folder)")
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
            record = GenerationRecord(problem_id=pid, epoch=epoch, status="ok", model=models[0],
                                      parsing=flags.parsing, messages=messages, replies=[reply],
                                      extracted_code=code, checks=checks, started_at=str(data.get("timestamp", "")),
                                      finished_at=str(data.get("timestamp", "")), duration_s=0.0,
                                      prompt_hash="official")
            out.write_model(record)
            counts[epoch] = counts.get(epoch, 0) + 1
    run.update_manifest(dataset_sha256=dataset_sha256, prompt_hash="official", model=models[0],
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
