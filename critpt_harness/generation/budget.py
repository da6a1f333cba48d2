"""Money while generating: the price, an estimate before the first item, and the budget.

The price comes from ``model.pricing`` (USD per million tokens; reasoning tokens
bill as output), else from a catalog snapshot already stored on this machine
(the run's own, ``runs/catalog/*``, or another run of the model under ``runs/<model>/``), with its
source. ``generation.max_cost_usd`` caps the run folder's total: no new item
starts once what is spent plus what is in flight could pass it.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Tuple

from ..config import HarnessConfig, model_label, slugify
from ..contracts import Usage
from ..errors import HarnessError
from ..providers import is_offline
from ..runfiles import read_jsonl
from ..runs import RunFolder


class BudgetReached(HarnessError):
    """generation.max_cost_usd stopped generation; what is done is kept."""

    exit_code = 3


@dataclass
class Price:
    input_per_million: float
    output_per_million: float
    source: str

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.input_per_million + completion_tokens * self.output_per_million) / 1e6


def runs_root(cfg: HarnessConfig) -> Path:
    """Where this model's run folders go by default: runs/<model>/."""
    return Path("runs") / slugify(model_label(cfg))


def earlier_runs(cfg: HarnessConfig, run: RunFolder) -> List[Path]:
    """This model's other run folders under its runs root, newest first. Never the run folder's
    own parent: for run_dir=/tmp/x that would be every folder in /tmp."""
    root = runs_root(cfg)
    if not root.is_dir():
        return []
    here = run.path.resolve()
    return sorted((p for p in root.iterdir() if p.is_dir() and p.resolve() != here), reverse=True)


def _snapshots(cfg: HarnessConfig, run: RunFolder) -> List[Path]:
    """Stored catalog snapshots, the most relevant first: this run's, shared ones, this model's other runs'."""
    from ..catalogs.prices import is_snapshot

    shared = Path("runs") / "catalog"
    places = [run.path / "catalog"]
    places += sorted((p for p in shared.iterdir() if p.is_dir()), reverse=True) if shared.is_dir() else []
    places += [p / "catalog" for p in earlier_runs(cfg, run)]
    return [p for p in places if is_snapshot(p)]


def model_price(cfg: HarnessConfig, run: RunFolder) -> Optional[Price]:
    p, m = cfg.model.pricing, cfg.model
    if p.input_per_million is not None and p.output_per_million is not None:
        return Price(p.input_per_million, p.output_per_million, "model.pricing (config)")
    if is_offline(m.provider):
        return Price(0.0, 0.0, f"the offline {m.provider} model (free)")
    from ..catalogs.prices import snapshot_price

    found = snapshot_price(_snapshots(cfg, run), m.name, m.label, dict(m.catalog_ids or {}))
    if found is None:
        return None
    price, folder = found
    return Price(price.input_per_million, price.output_per_million, f"{price.source}, snapshot {folder}")


def spent(run: RunFolder, price: Price) -> float:
    """What every record in the run folder cost, retries and failures included."""
    total = 0.0
    for raw in read_jsonl(run.generations_file):
        usage = raw.get("usage") or {}
        total += price.cost(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0))
    return total


def expected_tokens(cfg: HarnessConfig, run: RunFolder, descriptions: Sequence[str]) -> Tuple[Optional[float], Optional[float], str]:
    """(prompt, completion) tokens per item: this model's past runs here, else from the config."""
    samples: List[Tuple[int, int]] = []
    for folder in earlier_runs(cfg, run):
        if not (folder / "generations.jsonl").is_file():
            continue
        for raw in read_jsonl(folder / "generations.jsonl"):
            usage = raw.get("usage") or {}
            if raw.get("status") == "ok" and usage.get("completion_tokens"):
                samples.append((int(usage.get("prompt_tokens") or 0), int(usage["completion_tokens"])))
            if len(samples) >= 50:  # enough for a mean: the rest of a long file is not read at start-up
                break
        if len(samples) >= 50:
            break
    if samples:
        return (statistics.fmean(s[0] for s in samples), statistics.fmean(s[1] for s in samples),
                f"the mean of {len(samples)} items of this model's earlier runs in {runs_root(cfg)}")
    turns = 1 if cfg.generation.parsing else 2
    question = statistics.fmean(len(d) for d in descriptions) / 4 + 500 if descriptions else 1000
    cap = cfg.model.max_output_tokens
    if cap is None:
        return question * turns, None, "no earlier runs and no model.max_output_tokens: output unknown"
    # the second turn re-sends the first with its reply
    return question * turns + cap, float(cap * turns), "model.max_output_tokens x turns (an upper bound)"


@dataclass
class Budget:
    """The price, the limit and the running total; asked before each item starts."""

    price: Optional[Price]
    limit: Optional[float]
    spent: float = 0.0  # the run folder's total so far
    estimate: float = 0.0  # expected cost of one item before any finished
    per_item: float = 0.0  # expected cost of one item: the estimate and this session's items, averaged
    finished: int = 0
    session: float = 0.0  # spent in this session
    stopped: bool = False

    def allows(self, in_flight: int) -> bool:
        if self.limit is None or self.price is None:
            return True
        if self.spent + (in_flight + 1) * self.per_item > self.limit:
            self.stopped = True
        return not self.stopped

    def add(self, usage: Usage) -> None:
        if self.price is None:
            return
        cost = self.price.cost(usage.prompt_tokens, usage.completion_tokens)
        self.spent += cost
        self.session += cost
        self.finished += 1
        # the estimate counts as one item: it gives way to what items actually cost
        self.per_item = (self.estimate + self.session) / (1 + self.finished)


def plan(cfg: HarnessConfig, run: RunFolder, items: int, descriptions: Iterable[str]) -> Tuple[Budget, str]:
    """The budget for this session and the lines that announce it."""
    price = model_price(cfg, run)
    limit = cfg.generation.max_cost_usd
    if limit is not None and price is None:
        raise HarnessError(f"generation.max_cost_usd={limit:g} needs a price for {cfg.model.name}: set "
                           "model.pricing.input_per_million and model.pricing.output_per_million (USD), or take a "
                           "catalog snapshot first (`critpt-harness catalog`)")
    if price is None:
        return Budget(None, None), ("cost: unknown (no price for this model: set model.pricing.input_per_million / "
                                    "output_per_million, or take a catalog snapshot with `critpt-harness catalog`)")
    if is_offline(cfg.model.provider):
        return Budget(price, limit), f"cost: none ({price.source})"
    prompt, completion, how = expected_tokens(cfg, run, list(descriptions))
    budget = Budget(price, limit, spent=spent(run, price))
    budget.estimate = budget.per_item = price.cost(int(prompt or 0), int(completion or 0))
    rate = f"${price.input_per_million:g} in / ${price.output_per_million:g} out per 1M tokens ({price.source})"
    if completion is None:
        estimate = f"output unknown ({how})"
    else:
        estimate = (f"{items} items x ~{prompt:,.0f} in + {completion:,.0f} out tokens ({how}) "
                    f"= ~${budget.per_item * items:,.2f}")
    spent_so_far = f"; already spent in this run folder ${budget.spent:,.2f}" if budget.spent else ""
    cap = f"generation.max_cost_usd=${limit:,.2f}" if limit is not None else "no budget (generation.max_cost_usd)"
    return budget, f"cost estimate: {estimate} at {rate}{spent_so_far}; {cap}"
