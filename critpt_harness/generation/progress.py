"""What a running generation reports: the bar on a terminal, plain lines (and harness.log) without one."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Dict, Optional

from tqdm import tqdm

from .budget import Budget
from ..contracts import Usage
from .records import Key


@dataclass
class Progress:
    total: int
    done: int = 0
    failed: int = 0
    in_flight: int = 0
    retries: int = 0
    usage: Usage = field(default_factory=Usage)
    bar: Optional[tqdm] = None
    started: float = field(default_factory=time.monotonic)
    streamed: int = 0  # characters streamed in so far (replies still arriving included)
    budget: Optional[Budget] = None
    statuses: Dict[Key, str] = field(default_factory=dict)  # of the records written (keep_status), not re-read

    def _money(self) -> str:
        b = self.budget
        if b is None or b.price is None:
            return ""
        return f" ${b.spent:,.2f}" + (f" of ${b.limit:,.2f}" if b.limit is not None else "")

    def line(self) -> str:
        """One plain progress line: done/total, failures, in flight, tokens, time, ETA."""
        finished = self.done + self.failed
        elapsed = time.monotonic() - self.started
        eta = elapsed / finished * (self.total - finished) if finished else None
        return (f"generate: {finished}/{self.total} items ({self.failed} failed), {self.in_flight} in flight, "
                f"tokens in/out {self.usage.prompt_tokens:,}/{self.usage.completion_tokens:,}"
                + (f" (~{self.streamed // 4:,} streamed)" if self.streamed else "") + self._money() + ", "
                f"elapsed {_duration(elapsed)}" + (f", ETA {_duration(eta)}" if eta is not None else ""))

    def refresh(self) -> None:
        # The bar redraws itself at most every `mininterval` seconds on update().
        if self.bar is not None:
            self.bar.set_postfix_str(
                f"failed={self.failed} in-flight={self.in_flight} retries={self.retries} "
                f"tokens={self.usage.prompt_tokens}/{self.usage.completion_tokens}"
                + (f" streamed~{self.streamed // 4}" if self.streamed else "") + self._money(),
                refresh=False,
            )


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"
