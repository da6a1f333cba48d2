"""Reading run folders: DataFrames of runs, epochs and items (``runs_df``, ``epochs_df``,
``items_df``; pandas is the `tables` extra), and the `table` and `compare` commands."""

from __future__ import annotations

from typing import Any

__all__ = ["runs_df", "epochs_df", "items_df"]


def __getattr__(name: str) -> Any:  # the frames module (and pandas) load on first use
    if name in __all__:
        from . import frames

        return getattr(frames, name)
    raise AttributeError(name)
