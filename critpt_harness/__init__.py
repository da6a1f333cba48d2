"""critpt-harness: evaluate language models on the CritPt physics benchmark."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("critpt-harness")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+source"
