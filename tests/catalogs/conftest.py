"""Fixtures for the catalog tests: the four fake servers on 127.0.0.1, a config
pointing at them, keys in the environment, and a throw-away cache dir."""

from __future__ import annotations

import asyncio
from typing import Any, Callable, Iterator

import pytest

from critpt_harness.config.catalog import CatalogConfig
from tests.fakes.catalogs import FakeCatalogs

KEY_VARS = ("ARTIFICIAL_ANALYSIS_API_KEY", "OPENROUTER_API_KEY", "AIMODELSMAP_API_KEY")


@pytest.fixture(autouse=True)
def _no_real_keys(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CRITPT_HARNESS_CACHE", str(tmp_path / "harness-cache"))
    for var in KEY_VARS:
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def fakes(monkeypatch) -> Iterator[FakeCatalogs]:
    with FakeCatalogs() as started:
        for name, value in started.env().items():
            monkeypatch.setenv(name, value)
        yield started


@pytest.fixture
def cfg(fakes, tmp_path) -> CatalogConfig:
    return fakes.config(tmp_path / "cache", shared_dir=tmp_path / "shared")


@pytest.fixture
def call(cfg) -> Callable[..., Any]:
    """call(ClientClass, "method", *args, **kwargs): open a client on ``cfg``, call, close."""

    def _call(client_cls: Any, method: str, *args: Any, config: CatalogConfig | None = None, **kwargs: Any) -> Any:
        async def go() -> Any:
            async with client_cls(config or cfg) as client:
                return await getattr(client, method)(*args, **kwargs)

        return asyncio.run(go())

    return _call
