"""One batch per epoch, in the grader's wire format, covering the public set
exactly once with non-empty code -- or no batch at all."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ..contracts import Batch, GenerationFlags, GenerationRecord, Submission
from ..errors import BatchError
from ..data.problems import PUBLIC_IDS


@dataclass
class Coverage:
    missing: List[str] = field(default_factory=list)
    duplicated: List[str] = field(default_factory=list)
    unknown: List[str] = field(default_factory=list)
    empty: List[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.duplicated or self.unknown or self.empty)

    def describe(self) -> str:
        parts = []
        for label, ids in (("missing", self.missing), ("duplicated", self.duplicated),
                           ("not in the public set", self.unknown), ("empty code", self.empty)):
            if ids:
                shown = ", ".join(ids[:12]) + (f", ... ({len(ids)} in all)" if len(ids) > 12 else "")
                parts.append(f"{label}: {shown}")
        return "; ".join(parts)


def expected_ids(manifest: Dict[str, Any]) -> Sequence[str]:
    """The ids a run's batches must cover: its own problem set (recorded at generation),
    the public set when nothing else was recorded."""
    return manifest.get("problem_ids") or PUBLIC_IDS


_WIRE = ("role", "content", "tool_calls", "tool_call_id", "name")


def sent_messages(record: GenerationRecord, mode: str) -> Optional[List[Dict[str, Any]]]:
    """evaluator.messages: official (one assistant message, the final reply), none, or full."""
    if mode == "none":
        return None
    if mode == "official":
        return [{"role": "assistant", "content": record.replies[-1] if record.replies else ""}]
    return [{k: v for k, v in m.items() if k in _WIRE} for m in record.messages]


def generated_code(record: GenerationRecord, mode: str = "raw") -> str:
    """What is sent for a problem. raw: the final reply as the model wrote it (the official
    pipeline's choice). extracted: the extracted code in a ```python fence, or the final reply
    when no code could be extracted, so the grader judges what the model said."""
    if mode == "raw":
        return record.replies[-1] if record.replies else ""
    if record.extracted_code and record.extracted_code.strip():
        return f"```python\n{record.extracted_code}\n```"
    return record.replies[-1] if record.replies else ""


def coverage(items: Sequence[Tuple[str, str]], public_ids: Sequence[str] = PUBLIC_IDS) -> Coverage:
    """Compare (problem_id, code) pairs with the public id set."""
    counts: Dict[str, int] = defaultdict(int)
    for problem_id, _ in items:
        counts[problem_id] += 1
    public = set(public_ids)
    return Coverage(
        missing=[i for i in public_ids if counts.get(i, 0) == 0],
        duplicated=sorted(i for i, n in counts.items() if n > 1),
        unknown=sorted(i for i in counts if i not in public),
        empty=sorted({pid for pid, code in items if not code.strip()}),
    )


def submissions_hash(batch: Batch) -> str:
    """Identity of a batch's content, independent of its metadata (timestamps)."""
    payload = [s.model_dump(mode="json", exclude={"messages"}) for s in batch.submissions]
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def build_batch(records: Sequence[GenerationRecord], *, epoch: int, model: str, flags: GenerationFlags,
                metadata: Dict[str, Any], messages: str = "official", code: str = "raw",
                public_ids: Sequence[str] = PUBLIC_IDS) -> Batch:
    """The batch for one epoch; raises BatchError listing every coverage problem."""
    cov = coverage([(r.problem_id, generated_code(r, code)) for r in records], public_ids)
    if not cov.ok:
        raise BatchError(
            f"epoch {epoch}: refusing to build a batch that does not cover the {len(public_ids)} public "
            f"problems exactly once with code ({cov.describe()}). Run `critpt-harness generate` with the "
            "same run_dir to retry failed or missing items."
        )
    order = {pid: i for i, pid in enumerate(public_ids)}
    submissions = [
        Submission(
            problem_id=r.problem_id,
            generated_code=generated_code(r, code),
            model=model,
            generation_config=flags,
            messages=sent_messages(r, messages),
        )
        for r in sorted(records, key=lambda r: order[r.problem_id])
    ]
    return Batch(submissions=submissions, batch_metadata={"epoch": epoch, **metadata})
