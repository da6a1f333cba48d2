"""One exception class per kind of failure a user can act on.

The CLI prints ``str(error)`` and exits non-zero, so every message says what
went wrong *and* what to do about it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Optional


class HarnessError(Exception):
    """Base class: a problem the user can fix; printed without a traceback."""

    exit_code = 2


class ConfigError(HarnessError):
    """A config key has a bad value or contradicts another one."""


class MissingKeyError(HarnessError):
    """An API key environment variable is not set."""


class DatasetError(HarnessError):
    """The problem set cannot be loaded, downloaded or verified."""


class PromptsError(HarnessError):
    """The official prompt text cannot be downloaded, read or verified."""


class RunFolderError(HarnessError):
    """The run folder is missing a file a stage needs, or belongs to another run."""


class ModelUnusable(HarnessError):
    """The model cannot answer at all (key refused, unknown model, host unreachable): stop, don't retry."""


class BatchError(HarnessError):
    """A batch does not cover the public set exactly once with non-empty code."""


class GraderError(HarnessError):
    """The grader refused a batch (bad request, bad key, no access)."""


class QuotaExhausted(HarnessError):
    """No grading slot is left (server said 429, or the local ledger knows)."""

    exit_code = 3

    def __init__(self, message: str, until: "Optional[datetime]" = None):
        super().__init__(message)
        self.until = until  # when a slot frees, when known
