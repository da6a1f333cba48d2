"""critpt-harness: evaluate language models on the CritPt physics benchmark."""

from typing import Any


def __getattr__(name: str) -> Any:
    # __version__ is looked up on first use: importlib.metadata costs ~0.05-0.1 s at start-up.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            value = version("critpt-harness")
        except PackageNotFoundError:  # running from a source tree without installing
            value = "0.0.0+source"
        globals()["__version__"] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
