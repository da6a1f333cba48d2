"""What a catalog request gives back, and what an endpoint asks of the client it is read
through: shared by the endpoint tables (:mod:`.endpoints`) and the client (:mod:`.base`),
so neither imports the other's module for its types."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, ClassVar, Dict, List, Mapping, Optional, Protocol, Type, TypeVar

from pydantic import BaseModel, ConfigDict, PrivateAttr

M = TypeVar("M", bound="CatalogResponse")


class CatalogModel(BaseModel):
    """Server data. A reply declares the structure it must have and the fields the harness
    reads; every other field is kept as sent (and readable as an attribute where present),
    so a new field never breaks a snapshot."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, protected_namespaces=())


@dataclass
class Fetched:
    """One response as received (or as served from the cache)."""

    url: str  # with the query string; never carries a key (keys travel in headers)
    status: int
    text: str
    fetched_at: str  # when the server produced this content for us (ISO 8601, UTC)
    # network | cache (fresh, no request) | revalidated (304) | stale (expired, used after an error)
    origin: str = "network"
    headers: Dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.text)


class CatalogResponse(CatalogModel):
    """A typed reply that remembers the raw JSON and where it came from."""

    _fetches: List[Fetched] = PrivateAttr(default_factory=list)
    _raw: Any = PrivateAttr(default=None)

    @property
    def fetches(self) -> List[Fetched]:
        return self._fetches

    @property
    def raw(self) -> Any:
        """The JSON as the server sent it (pages merged for paginated endpoints)."""
        return self._raw

    def with_source(self: M, raw: Any, fetches: List[Fetched]) -> M:
        self._raw, self._fetches = raw, list(fetches)
        return self


class Client(Protocol):
    """What an endpoint needs of its client (catalogs.base.CatalogClient is the one)."""

    api: ClassVar[str]
    cfg: Any
    notices: List[str]

    async def request(self, endpoint: Any, *args: Any, **kwargs: Any) -> Any: ...

    async def get(self, path: str, params: Optional[Mapping[str, Any]] = None, *, auth: bool = True,
                  cache: bool = True, base: Optional[str] = None) -> Fetched: ...

    def parse(self, model: Type[M], fetched: Fetched) -> M: ...

    def validate(self, model: Type[M], raw: Any, fetches: List[Fetched]) -> M: ...

    def reject(self, message: str) -> Exception: ...
