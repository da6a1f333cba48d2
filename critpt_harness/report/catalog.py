"""What a stored catalog snapshot says about a model, for the report: the reading
itself lives in critpt_harness.catalogs.stored (each registered client reads its own
files); this module names it for the report and gives each catalog's title and
attribution from the registry. Reads files only; never asks a catalog.
"""

from __future__ import annotations

from typing import Dict, Iterator, Mapping

from ..catalogs.lookup import Snapshot
from ..catalogs.stored import CatalogPrice, ContextMetric, ModelMatch, PublishedScore, StoredFile

__all__ = ["ATTRIBUTIONS", "TITLES", "CatalogPrice", "ContextMetric", "ModelMatch", "PublishedScore", "Snapshot",
           "StoredFile"]


class _Registered(Mapping[str, str]):
    """{api: a class attribute of its client}, read from the registry when first used, so a
    report without catalog data does not load the clients."""

    def __init__(self, attribute: str):
        self.attribute = attribute

    def _table(self) -> Dict[str, str]:
        from ..catalogs.registry import CLIENTS

        return {api: getattr(client, self.attribute) for api, client in CLIENTS.items()}

    def __getitem__(self, api: str) -> str:
        return self._table()[api]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())


TITLES: Mapping[str, str] = _Registered("title")
# What each provider asks for when its data is shown (also in the snapshot's index.json).
ATTRIBUTIONS: Mapping[str, str] = _Registered("attribution")

