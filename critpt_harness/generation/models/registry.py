"""The one place that turns `model.provider` into a model client.

What each provider can do, and the file that implements it, are in providers.py; each
implementation module has ``build(cfg, gen, on_retry) -> ChatModel``, imported only when used.
"""

from __future__ import annotations

from importlib import import_module
from typing import Optional

from ...config import GenerationConfig, ModelConfig
from ...errors import ConfigError
from ...providers import provider
from .base import ChatModel, OnRetry


def build_model(cfg: ModelConfig, gen: GenerationConfig, on_retry: Optional[OnRetry] = None) -> ChatModel:
    found = provider(cfg.provider)
    if found is None or not found.module:
        raise ConfigError(f"model.provider={cfg.provider!r} cannot be asked: it names no model client")
    module = import_module(f"critpt_harness.generation.models.{found.module}")
    return module.build(cfg, gen, on_retry)
