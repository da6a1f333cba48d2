"""Fake servers for the four catalog APIs: real HTTP on 127.0.0.1 (port 0), the documented
paths, auth headers, status codes, pagination and cache/rate-limit headers (see base.py).

    with FakeCatalogs() as fakes:
        cfg = fakes.config(tmp_path)      # CatalogConfig pointing at the fakes
        os.environ.update(fakes.env())    # the keys, under the default variable names
"""

from __future__ import annotations

from typing import Any, Dict

from critpt_harness.config.catalog import CatalogConfig, CatalogRetryConfig

from .aimodelsmap import FakeAIModelsMap
from .artificial_analysis import FakeArtificialAnalysis
from .base import FakeCatalogServer, Recorded
from .llm_registry import FakeLLMRegistry
from .openrouter import FakeOpenRouter

__all__ = ["FakeAIModelsMap", "FakeArtificialAnalysis", "FakeCatalogServer", "FakeCatalogs", "FakeLLMRegistry",
           "FakeOpenRouter", "Recorded"]


class FakeCatalogs:
    """The four fakes, started together, plus a CatalogConfig that points at them."""

    def __init__(self) -> None:
        self.aa = FakeArtificialAnalysis()
        self.openrouter = FakeOpenRouter()
        self.llm_registry = FakeLLMRegistry()
        self.aimodelsmap = FakeAIModelsMap()

    @property
    def all(self) -> Dict[str, FakeCatalogServer]:
        return {"artificial_analysis": self.aa, "openrouter": self.openrouter,
                "llm_registry": self.llm_registry, "aimodelsmap": self.aimodelsmap}

    def __enter__(self) -> "FakeCatalogs":
        for fake in self.all.values():
            fake.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        for fake in self.all.values():
            fake.stop()

    def total_requests(self) -> int:
        return sum(f.count() for f in self.all.values())

    def env(self) -> Dict[str, str]:
        """The keys under the default variable names of CatalogConfig."""
        return {"ARTIFICIAL_ANALYSIS_API_KEY": self.aa.key, "OPENROUTER_API_KEY": self.openrouter.key,
                "AIMODELSMAP_API_KEY": self.aimodelsmap.key}

    def config(self, cache_dir: Any, shared_dir: Any = "runs/catalog") -> CatalogConfig:
        """Fast settings for tests: tiny retry waits, short limiter waits."""
        cfg = CatalogConfig(cache_dir=str(cache_dir), shared_dir=str(shared_dir), max_limiter_wait=1.0,
                            retry=CatalogRetryConfig(max_attempts=3, initial_wait=0.01, max_wait=0.05,
                                                     max_retry_after=1.0, max_rate_limited=1))
        cfg.artificial_analysis.base_url = self.aa.base_url
        cfg.openrouter.base_url = self.openrouter.base_url
        cfg.llm_registry.base_url = self.llm_registry.base_url
        cfg.llm_registry.block_seconds_on_429 = 0.05
        cfg.aimodelsmap.base_url = self.aimodelsmap.base_url
        cfg.aimodelsmap.page_size = 20
        return cfg
