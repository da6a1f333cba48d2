"""The model providers `model.provider` names, each with what it can do and where it is built.

Code asks a provider's capabilities (``offline``, ``needs_key``, ``generates``)
instead of testing its name. A new provider is one module in generation/models/ with
``build(cfg, gen, on_retry)``, one entry here, and one configs/model/*.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional


@dataclass(frozen=True)
class Provider:
    name: str
    description: str
    # Answers without any network: no key, no catalog entry, no cost, the offline prompt fallback.
    offline: bool = False
    # Needs model.api_key_env (except an OpenAI-compatible server on this machine: config.keyless).
    needs_key: bool = True
    # Talks to an HTTP endpoint: needs model.name and model.base_url (and a key unless it is local).
    endpoint: bool = False
    # Its client: the module in generation/models/ with build(); None = nothing to ask.
    module: Optional[str] = None

    @property
    def generates(self) -> bool:
        """Can be asked (imported runs hold answers of a model this tool never calls)."""
        return self.module is not None


PROVIDERS: Dict[str, Provider] = {p.name: p for p in (
    Provider("mock", "built-in, deterministic, offline", offline=True, needs_key=False, module="mock"),
    Provider("openai_compatible", "any Chat Completions / Responses API endpoint (model.base_url)", endpoint=True,
             module="chat"),
    Provider("imported", "answers imported from the official pipeline's files", needs_key=False),
)}


def provider(name: Optional[str]) -> Optional[Provider]:
    return PROVIDERS.get(name or "")


def is_offline(name: Optional[str]) -> bool:
    """True for a provider that answers without any network (the built-in mock)."""
    found = provider(name)
    return found is not None and found.offline
