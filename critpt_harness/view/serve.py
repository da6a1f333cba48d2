"""`critpt-harness view`: the viewer served by uvicorn until Ctrl-C (the background server
serve-grader uses), on 127.0.0.1 unless view.host says otherwise. It prints its URL and opens nothing."""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Optional

from ..analysis.folders import as_list
from ..errors import ConfigError
from ..grading.web import BackgroundServer
from .app import make_app
from .index import Library


class ViewerServer(BackgroundServer):
    thread_name = "critpt-viewer"

    def __init__(self, lib: Library, refresh: int):
        super().__init__()
        self.app = make_app(lib, refresh)


def serve_viewer(cfg: Any, *, echo: Callable[[str], None] = print, stop: Optional[threading.Event] = None,
                 ready: Optional[Callable[[ViewerServer], None]] = None) -> None:
    """Index the run folders, then serve them until Ctrl-C (or ``stop``); ``ready`` gets the server (tests)."""
    v = cfg.view
    if not 0 <= v.port <= 65535:
        raise ConfigError(f"view.port={v.port}: a port from 0 (any free one) to 65535 (--port)")
    lib = Library(as_list(v.runs, "view.runs"), cfg.report)
    runs = lib.found()
    t0 = time.perf_counter()
    lib.index_in_background()  # once; then a look reads only what was appended or changed
    server = ViewerServer(lib, v.refresh_seconds)
    try:
        server.start_at(v.host, v.port)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {v.host}:{v.port} ({exc}): pass --port N (0 = any free port) or "
                          "view.host=<an address of this machine>") from None
    try:
        echo(f"critpt-harness view: {len(runs)} run folder(s), read-only; indexed in the background (the runs page "
             "shows each as it is ready)")
        if v.host not in ("127.0.0.1", "localhost", "::1"):
            echo(f"warning: view.host={v.host}: the run folders are visible to that network")
        echo(f"  open {server.root}/   (Ctrl-C stops it)")
        if ready:
            ready(server)
        if lib.indexed.wait(3600 * 24) and runs:
            echo(f"  indexed {sum(len(e.cached.records) for e in runs if e.cached):,} records in "
                 f"{time.perf_counter() - t0:.1f} s")
        (stop or threading.Event()).wait()
    except KeyboardInterrupt:
        echo("stopping the viewer")
    finally:
        server.stop()
