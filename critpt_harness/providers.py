"""The model providers `model.provider` names, each with what it can do.

Code asks a provider's capabilities (``offline``, ``needs_key``, ``generates``)
instead of testing its name, so a new provider is one entry here.
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
    # Can be asked (imported runs hold answers of a model this tool never calls).
    generates: bool = True
    # Talks to an HTTP endpoint: needs model.name and model.base_url (and a key unless it is local).
    endpoint: bool = False


PROVIDERS: Dict[str, Provider] = {p.name: p for p in (
    Provider("mock", "built-in, deterministic, offline", offline=True, needs_key=False),
    Provider("openai_compatible", "any Chat Completions / Responses API endpoint (model.base_url)", endpoint=True),
    Provider("imported", "answers imported from the official pipeline's files", needs_key=False, generates=False),
)}


def provider(name: Optional[str]) -> Optional[Provider]:
    return PROVIDERS.get(name or "")


def is_offline(name: Optional[str]) -> bool:
    """True for a provider that answers without any network (the built-in mock)."""
    found = provider(name)
    return found is not None and found.offline
