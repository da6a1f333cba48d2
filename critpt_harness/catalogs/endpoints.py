"""Endpoints as data: each API's client lists its endpoints as ``Endpoint`` attributes
(path, parameters and their checks, pagination, caching, auth), and
``CatalogClient.request`` is the one place that turns a call into a request.

A parameter check gets (wire name, value), returns the value to send, and raises
ValueError with the documented rule; the client turns that into CatalogBadRequest
before any request is spent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from string import Formatter
from typing import (Any, Awaitable, Callable, Dict, Generic, List, Mapping, Optional, Sequence, Tuple, Type, TypeVar,
                    Union, overload)
from urllib.parse import quote

from .replies import CatalogResponse, Client, Fetched

R = TypeVar("R", bound=CatalogResponse)
Check = Callable[[str, Any], Any]


def one_of(*allowed: str) -> Check:
    def check(name: str, value: Any) -> Any:
        if value not in allowed:
            raise ValueError(f"{name}={value!r} is not documented: use one of {', '.join(allowed)}")
        return value
    return check


def in_range(low: int, high: int) -> Check:
    def check(name: str, value: Any) -> Any:
        if not low <= value <= high:
            raise ValueError(f"{name}={value}: the documents allow {low}-{high}")
        return value
    return check


def at_least(low: int) -> Check:
    def check(name: str, value: Any) -> Any:
        try:
            ok = not isinstance(value, bool) and int(value) >= low
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueError(f"{name}={value!r}: must be an integer >= {low}")
        return value
    return check


def iso_date(name: str, value: Any) -> Any:
    try:
        date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}={value!r}: use an ISO 8601 date such as 2026-01-31") from None
    return value


def _snake(wire: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", wire).lower()


@dataclass(frozen=True)
class Param:
    """One parameter: its name on the wire and its check. Its Python keyword is the wire
    name in snake_case (``startDate`` is ``start_date``)."""

    wire: str
    check: Optional[Check] = None

    @property
    def keyword(self) -> str:
        return _snake(self.wire)


class Endpoint(Generic[R]):
    """One documented request. Positional arguments fill the path's ``{placeholders}``,
    then the parameters in order; keywords use the parameters' Python names.

    - method: GET (through the response cache) or POST (parameters become the JSON body).
    - auth: send the API's key header; root: the path is under the host root, not base_url.
    - pages: cursor pagination with pages of at most this many items (0 = one request).
    - once: asked once per client (later calls reuse the reply).
    - check: called with every value by wire name, for rules across parameters.
    """

    def __init__(self, path: str, response: Type[R], *params: Param, method: str = "GET", auth: bool = True,
                 root: bool = False, pages: int = 0, once: bool = False,
                 check: Optional[Callable[[Dict[str, Any]], None]] = None):
        self.path, self.response, self.method = path, response, method
        self.auth, self.root, self.pages, self.once, self.check = auth, root, pages, once, check
        self.placeholders = [f for _, f, _, _ in Formatter().parse(path) if f]
        declared = {p.wire for p in params}
        self.params: Tuple[Param, ...] = tuple(Param(p) for p in self.placeholders if p not in declared) + params
        self.name = path

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def bind(self, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Tuple[str, Dict[str, Any]]:
        """(path, {wire name: value}) for a call; TypeError for arguments the endpoint does not take,
        ValueError for values its documents forbid."""
        if len(args) > len(self.params):
            raise TypeError(f"{self.name}() takes {len(self.params)} positional arguments, got {len(args)}")
        by_keyword = {p.keyword: p for p in self.params}
        unknown = sorted(set(kwargs) - set(by_keyword))
        if unknown:
            raise TypeError(f"{self.name}() got unexpected keyword arguments {unknown}: it takes {list(by_keyword)}")
        given: Dict[str, Any] = {p.keyword: a for p, a in zip(self.params, args)}
        for key, value in kwargs.items():
            if key in given:
                raise TypeError(f"{self.name}() got two values for {key}")
            given[key] = value
        values: Dict[str, Any] = {}
        for p in self.params:
            value = given.get(p.keyword)
            if value is None and p.wire in self.placeholders:
                raise TypeError(f"{self.name}() needs {p.keyword}")
            values[p.wire] = p.check(p.wire, value) if p.check is not None and value is not None else value
        if self.check is not None:
            self.check(values)
        path = self.path.format(**{k: quote(str(values.pop(k)), safe="") for k in self.placeholders})
        return path, {k: v for k, v in values.items() if v is not None}

    @overload
    def __get__(self, obj: None, owner: Any) -> "Endpoint[R]": ...

    @overload
    def __get__(self, obj: "Client", owner: Any) -> Callable[..., Awaitable[R]]: ...

    def __get__(self, obj: Optional["Client"], owner: Any
                ) -> Union["Endpoint[R]", Callable[..., Awaitable[R]]]:
        if obj is None:
            return self
        client = obj

        async def call(*args: Any, **kwargs: Any) -> R:
            return await client.request(self, *args, **kwargs)

        call.__name__ = call.__qualname__ = self.name
        return call


async def follow_pages(client: "Client", endpoint: Endpoint[R], path: str, params: Dict[str, Any],
                      max_items: Optional[int]) -> R:
    """Follow ``pagination.next_cursor`` while ``has_more`` holds, until ``max_items`` are in
    (default catalog.<api>.max_items; 0 = no cap), asking only for what is missing; one merged reply."""
    cap = getattr(client.cfg, "max_items", 0) if max_items is None else max_items
    size = min(getattr(client.cfg, "page_size", endpoint.pages), endpoint.pages)
    items: List[Any] = []
    fetches: List[Fetched] = []
    first: Dict[str, Any] = {}
    pagination: Dict[str, Any] = {}
    cursor: Optional[str] = None
    seen = set()
    while True:
        want = max(1, min(size, cap - len(items) if cap > 0 else size))
        fetched = await client.get(path, {**params, "limit": want, "cursor": cursor})
        page = client.parse(endpoint.response, fetched).raw
        fetches.append(fetched)
        first = first or dict(page)
        items.extend(page.get("data") or [])
        pagination = dict(page.get("pagination") or {})
        cursor = pagination.get("next_cursor")
        if not pagination.get("has_more") or not cursor:
            break
        if cap > 0 and len(items) >= cap:
            client.notices.append(f"{path}: stopped after {len(items)} of {pagination.get('total', '?')} "
                                f"items (catalog.{client.api}.max_items={cap})")
            break
        if cursor in seen:  # a server bug must not loop forever
            raise client.reject(f"{path}: the server returned cursor {cursor!r} twice; stopped paging")
        seen.add(cursor)
    merged = {**first, "data": items[:cap] if cap > 0 else items, "pagination": pagination}
    return client.validate(endpoint.response, merged, fetches)


@dataclass(frozen=True)
class Snap:
    """What one name in ``catalog.<api>.endpoints`` writes: the client method to call with
    fixed arguments, into the file ``file`` ("" = the endpoint's name). With ``each``
    (an async client method taking the endpoint's name and giving [(part, arguments)])
    it writes one file per item, named ``file.format(part)``."""

    call: str
    file: str = ""
    args: Tuple[Tuple[str, Any], ...] = ()
    each: str = ""


def snaps(table: Mapping[str, Union[str, Snap]]) -> Dict[str, Snap]:
    """{endpoint: Snap}; a plain string names the method and keeps the endpoint's name as file name."""
    return {k: v if isinstance(v, Snap) else Snap(v) for k, v in table.items()}
