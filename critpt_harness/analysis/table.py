"""`critpt-harness table`: every run as one table (csv, parquet, json or markdown), one row per run,
epoch or item, to standard output or a file."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any, Callable

from ..config.reading import TABLE_FORMATS, TABLE_LEVELS
from ..errors import ConfigError
from ..report.render import markdown_table
from ..runfiles import write_bytes_atomic, write_text_atomic
from .folders import as_list
from .frames import TABLES_EXTRA, pandas, table, views


def _markdown(df: Any) -> str:
    cells = df.astype("string").fillna("").values.tolist()
    return "\n".join(markdown_table([str(c) for c in df.columns], cells)) + "\n"


def render(df: Any, fmt: str) -> str:
    if fmt == "csv":
        return df.to_csv(index=False)
    if fmt == "json":  # pandas writes the values (NA as null, times in ISO); json lays them out without \/
        return json.dumps(json.loads(df.to_json(orient="records", date_format="iso")), indent=1,
                          ensure_ascii=False) + "\n"
    return _markdown(df)


def check(cfg: Any) -> None:
    t = cfg.table
    if t.format not in TABLE_FORMATS:
        raise ConfigError(f"table.format={t.format!r}: use one of {', '.join(TABLE_FORMATS)} (--format)")
    if t.level not in TABLE_LEVELS:
        raise ConfigError(f"table.level={t.level!r}: use one of {', '.join(TABLE_LEVELS)} (--level)")
    if t.format == "parquet" and not t.output:
        raise ConfigError("table.format=parquet writes a file: add --output FILE.parquet")
    pandas()
    if t.format == "parquet":
        try:
            import pyarrow  # noqa: F401  (pandas' parquet writer)
        except ImportError:
            raise ConfigError(f"--format parquet needs pyarrow, which is not installed: {TABLES_EXTRA}") from None


def cmd_table(cfg: Any, echo: Callable[[str], None] = print) -> None:
    check(cfg)
    t = cfg.table
    df = table(views(as_list(t.runs, "table.runs"), cfg.report, "table.runs"), t.level)
    if t.format == "parquet":
        out = Path(t.output)
        out.parent.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        df.to_parquet(buffer, index=False)
        write_bytes_atomic(out, buffer.getvalue())
    else:
        text = render(df, t.format)
        if not t.output:
            echo(text.rstrip("\n"))
            return
        out = Path(t.output)
        out.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(out, text)
    echo(f"table: {len(df)} row(s) x {len(df.columns)} columns ({t.level} level) written to {t.output}")
