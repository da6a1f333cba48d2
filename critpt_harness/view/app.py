"""The viewer as an ASGI app (Starlette): read-only pages and JSON over the Library's run folders.

    /                       the runs (filter ?q=, ?grading=; sort ?sort=<column>&desc=1)
    /run?run=ID             a run's problem x epoch grid
    /item?run=ID&p=P&e=E    one item's conversation, code and checks
    /compare?a=ID&b=ID      two runs side by side
    /api/runs, /api/run?run=ID, /api/item?run=ID&p=P&e=E   the same as JSON
    /static/viewer.css      the stylesheet (package data)

Only GET and HEAD are answered; nothing writes to a run folder.
"""

from __future__ import annotations

from dataclasses import asdict
from importlib import resources
from typing import Any, Callable, Optional

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from ..errors import HarnessError
from .html import CSP
from .index import Library
from .pages import compare_page, not_found, run_page, runs_json, runs_page
from .transcript import item_page

HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
           "Cache-Control": "no-store"}


def _html(text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(text, status, headers=HEADERS)


def _json(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status, headers=HEADERS)


def _epoch(value: Optional[str]) -> Optional[int]:
    return int(value) if value is not None and value.lstrip("-").isdigit() else None


def make_app(lib: Library, refresh: int = 10) -> Starlette:
    css = (resources.files("critpt_harness.view") / "static" / "viewer.css").read_bytes()

    def guarded(fn: Callable[[Request], Response]) -> Callable[[Request], Response]:
        def endpoint(request: Request) -> Response:
            try:
                return fn(request)
            except HarnessError as exc:  # a damaged or newer run file: say which, keep serving the rest
                return _html(not_found(str(exc)), 500)
        return endpoint

    def home(request: Request) -> Response:
        return _html(runs_page(lib, dict(request.query_params), refresh))

    def run(request: Request) -> Response:
        pair = lib.get(request.query_params.get("run", ""))
        return _html(run_page(pair, refresh)) if pair else _html(not_found("No such run here."), 404)

    def item(request: Request) -> Response:
        q = request.query_params
        pair, epoch = lib.get(q.get("run", "")), _epoch(q.get("e"))
        rec = pair[0].record((q.get("p", ""), epoch)) if pair and epoch is not None else None
        if pair is None or rec is None:
            return _html(not_found("No such item in this run (yet)."), 404)
        return _html(item_page(pair[0], pair[1], rec))

    def compare(request: Request) -> Response:
        q = request.query_params
        a, b = lib.get(q.get("a", "")), lib.get(q.get("b", ""))
        return _html(compare_page(lib, a, b))

    def api_runs(request: Request) -> Response:
        return _json(runs_json(lib))

    def api_run(request: Request) -> Response:
        pair = lib.get(request.query_params.get("run", ""))
        if pair is None:
            return _json({"error": "no such run"}, 404)
        out = pair[1].outcomes
        return _json({"id": pair[0].id, "problems": out.problems, "epochs": out.epochs,
                      "items": [asdict(o) for o in out.items.values()]})

    def api_item(request: Request) -> Response:
        q = request.query_params
        pair, epoch = lib.get(q.get("run", "")), _epoch(q.get("e"))
        rec = pair[0].record((q.get("p", ""), epoch)) if pair and epoch is not None else None
        if rec is None:
            return _json({"error": "no such item"}, 404)
        return Response(rec.model_dump_json(), headers=HEADERS, media_type="application/json")

    def stylesheet(request: Request) -> Response:
        return Response(css, media_type="text/css", headers={**HEADERS, "Cache-Control": "max-age=300"})

    def favicon(request: Request) -> Response:  # browsers ask for one; nothing to show
        return Response(status_code=204, headers=HEADERS)

    routes = [Route(path, guarded(fn), methods=["GET", "HEAD"]) for path, fn in (
        ("/", home), ("/run", run), ("/item", item), ("/compare", compare), ("/api/runs", api_runs),
        ("/api/run", api_run), ("/api/item", api_item), ("/static/viewer.css", stylesheet),
        ("/favicon.ico", favicon))]
    return Starlette(routes=routes)
