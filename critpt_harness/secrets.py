"""API keys: read from environment variables (or a ``.env`` file), never written.

Every key the harness reads is remembered so :func:`redact` can scrub it from
anything that is logged or written to the run folder.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any, Optional, Set

from dotenv import load_dotenv

from .errors import MissingKeyError

_SECRETS: Set[str] = set()
# Config keys whose values are secrets themselves (not names of env vars).
_SECRET_KEY = re.compile(r"(api_?key|secret|token|password|authorization)$", re.IGNORECASE)
REDACTED = "***"


def load_env_file(path: Optional[Path] = None) -> None:
    """Load ``.env`` from the working directory; real environment variables win."""
    load_dotenv(path or Path.cwd() / ".env", override=False)


def require_key(env_name: Optional[str], option: str) -> str:
    if not env_name:
        raise MissingKeyError(f"{option} is empty: name the environment variable that holds the API key")
    value = os.environ.get(env_name, "").strip()
    if not value:
        raise MissingKeyError(
            f"the API key variable {env_name} (from {option}) is not set. "
            f"Export it (export {env_name}=...) or put it in a .env file in this folder."
        )
    remember_secret(value)
    return value


def remember_secret(value: str) -> None:
    if value and len(value) >= 4:
        _SECRETS.add(value)


def redact(text: str) -> str:
    for secret in _SECRETS:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def redact_config(node: Any) -> Any:
    """A copy of a config tree with secret-looking values and known keys masked."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if isinstance(key, str) and _SECRET_KEY.search(key) and isinstance(value, str) and value:
                out[key] = REDACTED
            else:
                out[key] = redact_config(value)
        return out
    if isinstance(node, list):
        return [redact_config(v) for v in node]
    if isinstance(node, str):
        return redact(node)
    return node


class RedactingFilter(logging.Filter):
    """Scrub known keys from log records before any handler formats them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _SECRETS:
            record.msg = redact(record.getMessage())
            record.args = None
        return True
