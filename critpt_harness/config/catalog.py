"""Typed config for the catalog clients (Hydra group ``catalog``).

Limits and cache lifetimes follow each provider's published terms; every base
URL and key variable is a config key so tests and mirrors can point elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Dict, List, Optional

from ..retry import RetryConfig


@dataclass
class RateLimit:
    """At most ``requests`` HTTP requests in any window of ``per_seconds``."""

    requests: int = 60
    per_seconds: float = 60.0


@dataclass
class CatalogRetryConfig(RetryConfig):
    """Catalog defaults for critpt_harness.retry.RetryPolicy (the project's one retry loop)."""

    max_attempts: int = 4
    initial_wait: float = 1.0
    max_wait: float = 30.0
    # A server-asked wait longer than this is not waited for: the API is skipped instead.
    max_retry_after: float = 120.0
    # Retries after a 429 (daily quotas do not come back by retrying).
    max_rate_limited: Optional[int] = 1


@dataclass
class ApiConfig:
    """Fields every catalog API has; the subclasses set the documented defaults."""

    enabled: bool = True
    base_url: str = ""
    # Name of the environment variable holding the key (never the key); null = no key needed.
    api_key_env: Optional[str] = None
    # How long a fetched response is reused without asking the server again.
    # null = the server's Cache-Control max-age (0 when it sends none).
    cache_ttl_seconds: Optional[float] = None
    rate_limits: List[RateLimit] = field(default_factory=list)
    # What `critpt-harness catalog` fetches (names are listed per API below).
    endpoints: List[str] = field(default_factory=list)
    timeout: float = 60.0


@dataclass
class ArtificialAnalysisConfig(ApiConfig):
    base_url: str = "https://artificialanalysis.ai/api/v2"
    api_key_env: Optional[str] = "ARTIFICIAL_ANALYSIS_API_KEY"
    # The provider asks clients to cache; 1,000 requests/day.
    cache_ttl_seconds: Optional[float] = 86400.0
    rate_limits: List[RateLimit] = field(default_factory=lambda: [RateLimit(1000, 86400.0)])
    # llms | text-to-image | image-editing | text-to-speech | text-to-video | image-to-video
    endpoints: List[str] = field(default_factory=lambda: ["llms"])
    # Sent only to the media endpoints whose documentation offers it.
    include_categories: bool = True


@dataclass
class OpenRouterConfig(ApiConfig):
    base_url: str = "https://openrouter.ai/api/v1"
    api_key_env: Optional[str] = "OPENROUTER_API_KEY"
    cache_ttl_seconds: Optional[float] = 21600.0
    # 30 requests/minute per key and 500/day per account.
    rate_limits: List[RateLimit] = field(
        default_factory=lambda: [RateLimit(30, 60.0), RateLimit(500, 86400.0)])
    # benchmarks
    endpoints: List[str] = field(default_factory=lambda: ["benchmarks"])
    # One snapshot file per query; keys: source, task_type, arena, category, max_results.
    benchmark_queries: List[Dict[str, Any]] = field(default_factory=lambda: [{}])
    # Optional app identification headers (HTTP-Referer, X-OpenRouter-Title, X-OpenRouter-Categories).
    http_referer: Optional[str] = None
    app_title: Optional[str] = "critpt-harness"
    app_categories: Optional[str] = None


@dataclass
class LLMRegistryConfig(ApiConfig):
    base_url: str = "https://llm-registry.com/api/v1"
    api_key_env: Optional[str] = None
    # null = the server's Cache-Control (max-age=300); Last-Modified is revalidated after that.
    cache_ttl_seconds: Optional[float] = None
    rate_limits: List[RateLimit] = field(default_factory=lambda: [RateLimit(100, 60.0)])
    # root | meta | models | benchmarks | scores | leaderboards | export_json | export_csv
    endpoints: List[str] = field(
        default_factory=lambda: ["meta", "models", "benchmarks", "scores", "leaderboards"])
    # Leaderboards to fetch ("all" = the global one).
    leaderboard_categories: List[str] = field(default_factory=lambda: ["all", "reasoning", "math"])
    # Cloudflare blocks an IP for a minute after a 429 and sends no Retry-After.
    block_seconds_on_429: float = 60.0


@dataclass
class AIModelsMapConfig(ApiConfig):
    base_url: str = "https://api.aimodelsmap.com/v1"
    api_key_env: Optional[str] = "AIMODELSMAP_API_KEY"
    # /health and /health/pipelines live at the host root; null = scheme and host of base_url.
    health_base_url: Optional[str] = None
    cache_ttl_seconds: Optional[float] = 21600.0
    # The documents name a daily limit without a number: set your plan's.
    rate_limits: List[RateLimit] = field(default_factory=lambda: [RateLimit(100, 86400.0)])
    # health | pipelines | categories | models | rankings | history | movers
    endpoints: List[str] = field(default_factory=lambda: ["categories", "rankings", "models"])
    # Ranking categories to fetch; checked against /categories first (missing ones are reported).
    ranking_categories: List[str] = field(default_factory=lambda: ["reasoning", "coding"])
    # Cursor pagination stops after this many items (models, rankings, reviews).
    max_items: int = 500
    page_size: int = 100
    # POST /models/{slug}/reviews writes to a public site: off unless set to true.
    allow_review_submission: bool = False


@dataclass
class CatalogConfig:
    # false = no catalog step at all: `run` skips the snapshot, `critpt-harness catalog` does nothing.
    enabled: bool = True
    # Response cache; empty = <$CRITPT_HARNESS_CACHE or ~/.cache/critpt-harness>/catalogs.
    cache_dir: Optional[str] = None
    # true = ignore cached freshness (still revalidates with If-Modified-Since where possible).
    refresh: bool = False
    # When a request fails (quota, network), use an expired cached response and say so.
    stale_on_error: bool = True
    # Snapshots without a run folder go to <shared_dir>/<date>/.
    shared_dir: str = "runs/catalog"
    # Pin the run's model per catalog: {artificial_analysis: <id>, openrouter: <permaslug>,
    # llm_registry: <id>, aimodelsmap: <slug>}. Wins over name matching.
    model_ids: Dict[str, str] = field(default_factory=dict)
    # Use AI Models Map's typo-tolerant search when no name matches (one request, cached).
    search_fallback: bool = True
    # Longest time a client-side limiter sleeps for a free slot before giving up on that API.
    max_limiter_wait: float = 90.0
    retry: CatalogRetryConfig = field(default_factory=CatalogRetryConfig)
    artificial_analysis: ArtificialAnalysisConfig = field(default_factory=ArtificialAnalysisConfig)
    openrouter: OpenRouterConfig = field(default_factory=OpenRouterConfig)
    llm_registry: LLMRegistryConfig = field(default_factory=LLMRegistryConfig)
    aimodelsmap: AIModelsMapConfig = field(default_factory=AIModelsMapConfig)

    def apis(self) -> Dict[str, ApiConfig]:
        """{api: its section}: every field that is an API's config."""
        return {f.name: value for f in fields(self) if isinstance(value := getattr(self, f.name), ApiConfig)}
