"""Money: which per-million-token price applies to a run, and what its tokens cost.

Catalog prices are list prices of the model's own API; a run through another
provider (or with a negotiated rate) should set prices in the report config.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

from ..catalogs.prices import Price, catalog_price
from .catalog import CatalogPrice
from ..config.report import ReportConfig

__all__ = ["Cost", "Price", "catalog_price", "choose_price", "config_price", "cost_of"]


@dataclass
class Cost:
    price: Price
    input_usd: float
    output_usd: float

    @property
    def total_usd(self) -> float:
        return self.input_usd + self.output_usd


def config_price(cfg: ReportConfig, names: List[str]) -> Optional[Price]:
    wanted = {n.lower() for n in names if n}
    for p in cfg.prices:
        if p.model.lower() in wanted and p.input_per_million is not None and p.output_per_million is not None:
            return Price(p.input_per_million, p.output_per_million,
                         f"report config (report.prices, model {p.model})")
    if cfg.input_price_per_million is not None and cfg.output_price_per_million is not None:
        return Price(cfg.input_price_per_million, cfg.output_price_per_million,
                     "report config (report.input_price_per_million / output_price_per_million)")
    return None


def choose_price(cfg: ReportConfig, names: List[str], prices: List[CatalogPrice]) -> Optional[Price]:
    """The catalog's price, else the config's; ``prefer_config_prices`` reverses that."""
    from_config, from_catalog = config_price(cfg, names), catalog_price(prices)
    if cfg.prefer_config_prices:
        return from_config or from_catalog
    return from_catalog or from_config


def cost_of(prompt_tokens: int, completion_tokens: int, price: Optional[Price]) -> Optional[Cost]:
    if price is None:
        return None
    return Cost(price, prompt_tokens / 1e6 * price.input_per_million,
                completion_tokens / 1e6 * price.output_per_million)
