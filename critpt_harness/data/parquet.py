"""The Hugging Face copy's parquet, read as problem records.

pyarrow reads it: it is the format's reference implementation (the dataset was written with it),
it reads nested columns as Python values without a DataFrame library, and one small file in
milliseconds. It and huggingface_hub are the ``huggingface`` extra, imported only when such a set
is loaded: commands that load no data never import them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

from ..errors import DatasetError

EXTRA = 'pip install "critpt-harness[huggingface]"'


def require() -> None:
    """huggingface_hub and pyarrow, or an error naming the extra."""
    try:
        import huggingface_hub  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except ImportError as exc:
        raise DatasetError(f"dataset.source=huggingface needs huggingface_hub and pyarrow ({exc.name} is not "
                           f"installed): {EXTRA}, or use dataset.source=github") from exc


def _flatten(row: Dict[str, Any]) -> Dict[str, Any]:
    """A parquet row as a challenge file's problem: ``metadata_<key>`` columns (or a ``metadata``
    column, a mapping or JSON text) become ``metadata``; ``dataset_name`` names the challenge."""
    raw = row.pop("metadata", None)
    metadata: Dict[str, Any] = dict(json.loads(raw) if isinstance(raw, str) and raw.strip() else raw or {})
    for key in [k for k in row if k.startswith("metadata_")]:
        metadata[key[len("metadata_"):]] = row.pop(key)
    row["metadata"] = metadata
    if row.get("dataset_name"):
        row["challenge"] = row.pop("dataset_name")
    return row


def read_tables(paths: List[Path]) -> List[Dict[str, Any]]:
    """Every row of the parquet files, as problem fields."""
    require()
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows: List[Dict[str, Any]] = []
    for path in paths:
        try:
            table = pq.read_table(path)
        except (pa.ArrowException, OSError) as exc:
            raise DatasetError(f"{path}: not a readable parquet file ({exc}). Pull it again "
                               "(`critpt-harness data pull`) or check the Hugging Face revision.") from exc
        rows += [_flatten(r) for r in table.to_pylist()]
    return rows
