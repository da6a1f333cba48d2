"""The catalog APIs, registered once: the snapshot, the matching, the report and the
price lookup iterate this. Each client carries its title, attribution, endpoints and
the readers of its stored files (candidates, CritPt scores, prices, context).

The order is the order prices are trusted in (the first catalog with a price wins).
"""

from __future__ import annotations

from typing import Dict, Type

from .aimodelsmap import AIModelsMapClient
from .artificial_analysis import ArtificialAnalysisClient
from .base import CatalogClient
from .llm_registry import LLMRegistryClient
from .openrouter import OpenRouterClient

CLIENTS: Dict[str, Type[CatalogClient]] = {
    c.api: c for c in (ArtificialAnalysisClient, OpenRouterClient, LLMRegistryClient, AIModelsMapClient)}
