"""Catalog prices of a model from snapshots already stored on this machine (no request).

Used by the budget before generation and by the report; each registered client
reads its own prices, and the catalogs are trusted in the registry's order.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

from .lookup import Snapshot
from .stored import CatalogPrice, SnapshotFiles


@dataclass
class Price:
    input_per_million: float
    output_per_million: float
    source: str  # one line saying where the price came from
    fetched_at: Optional[str] = None


def is_snapshot(folder: Path) -> bool:
    return SnapshotFiles.exists_at(folder)


def catalog_price(prices: List[CatalogPrice]) -> Optional[Price]:
    """The price of the first catalog, in the registry's order, that has one."""
    if not prices:  # no snapshot priced it: the clients (httpx, pydantic models) need not load
        return None
    from .registry import CLIENTS

    for api, client in CLIENTS.items():
        p = next((p for p in prices if p.catalog == api), None)
        if p is not None:
            return Price(p.input_per_million, p.output_per_million,
                         f"{client.title} `{p.field}` of '{p.entry_name}' ({p.file})", p.fetched_at)
    return None


def snapshot_price(folders: Iterable[Path], name: str, label: Optional[str],
                   explicit: Dict[str, str]) -> Optional[Tuple[Price, Path]]:
    """The first snapshot among ``folders`` that prices the model, with that folder."""
    for folder in folders:
        snap = Snapshot(folder)
        found = catalog_price([p for match in snap.matches(name, label, explicit) for p in snap.prices_for(match)])
        if found is not None:
            return found, folder
    return None
