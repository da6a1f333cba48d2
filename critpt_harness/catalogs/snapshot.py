"""`critpt-harness catalog`: store what the catalogs publish today, beside the run.

Each endpoint becomes one JSON file holding the raw reply plus when it was
fetched, from where, and the attribution its provider asks for; ``index.json``
lists them. A missing key or a failing API is reported and skipped: the others
are still fetched. Within the cache lifetime a snapshot makes no HTTP request.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional

from .. import __version__
from ..errors import MissingKeyError
from ..runfiles import write_json_atomic
from ..runs import RunFolder, now_iso
from ..providers import is_offline
from ..secrets import redact
from . import registry
from .base import CatalogClient, cache_root
from .replies import Fetched
from ..config.catalog import CatalogConfig
from .errors import CatalogAuthError, CatalogError, CatalogSchemaError

log = logging.getLogger(__name__)
Echo = Callable[[str], None]

INDEX = "index.json"
MATCHES = "matches.json"


def _write_endpoint(folder: Path, name: str, client: CatalogClient, raw: Any, fetches: List[Fetched],
                    provided: Any = None, schema_error: Optional[str] = None) -> Dict[str, Any]:
    entry: Dict[str, Any] = {
        "file": f"{client.api}/{name}.json",
        "source_url": fetches[0].url if fetches else None,
        "fetched_at": min(f.fetched_at for f in fetches) if fetches else None,
        "origin": dict(Counter(f.origin for f in fetches)),
    }
    envelope: Dict[str, Any] = {
        "api": client.api, "endpoint": name, "source_url": entry["source_url"],
        "fetched_at": entry["fetched_at"], "origin": entry["origin"], "attribution": client.attribution,
    }
    if len(fetches) > 1:
        envelope["pages"] = [{"url": f.url, "fetched_at": f.fetched_at, "origin": f.origin} for f in fetches]
    if provided:
        envelope["provider_attribution"] = provided
    if schema_error:
        envelope["schema_error"] = entry["schema_error"] = schema_error
    if isinstance(raw, str):  # the CSV export (or a non-JSON reply) is stored as it came
        suffix = ".csv" if name.endswith("csv") else ".txt"
        text_path = folder / f"{name}{suffix}"
        text_path.parent.mkdir(parents=True, exist_ok=True)
        text_path.write_text(redact(raw), encoding="utf-8")
        envelope["response_file"] = text_path.name
    else:
        envelope["response"] = raw
    write_json_atomic(folder / f"{name}.json", envelope)
    return entry


async def _snapshot_api(cfg: CatalogConfig, api: str, out_dir: Path, echo: Echo) -> Dict[str, Any]:
    cls = registry.CLIENTS[api]
    api_cfg = cfg.apis()[api]
    summary: Dict[str, Any] = {"title": cls.title, "attribution": cls.attribution, "endpoints": {},
                               "errors": {}, "notices": [], "requests": 0}
    if not api_cfg.enabled:
        echo(f"catalog: {cls.title}: disabled (catalog.{api}.enabled=false)")
        return {**summary, "status": "disabled"}
    client = cls(cfg)
    try:
        if not all(cls.keyless(e) for e in api_cfg.endpoints):
            client.api_key  # noqa: B018 - fail now, not after half the endpoints
    except MissingKeyError as exc:
        echo(f"catalog: skipping {cls.title}: {exc}")
        return {**summary, "status": "skipped", "reason": str(exc)}
    folder = out_dir / api
    async with client:
        for endpoint in api_cfg.endpoints:
            if endpoint not in cls.snapshot_files:
                summary["errors"][endpoint] = (f"unknown endpoint in catalog.{api}.endpoints: use "
                                               f"{', '.join(cls.endpoints())}")
                continue
            try:
                results = await client.fetch(endpoint)
            except CatalogAuthError as exc:
                summary["errors"][endpoint] = str(exc)
                break  # every other endpoint would be refused too
            except CatalogSchemaError as exc:
                # An unexpected shape must not lose the data: store the raw reply, flagged.
                summary["errors"][endpoint] = str(exc)
                if exc.fetches:
                    summary["endpoints"][endpoint] = _write_endpoint(folder, endpoint, client, exc.raw, exc.fetches,
                                                                     schema_error=str(exc))
                continue
            except CatalogError as exc:
                summary["errors"][endpoint] = str(exc)
                continue
            for name, response in results:
                summary["endpoints"][name] = _write_endpoint(folder, name, client, response.raw, response.fetches,
                                                             client.provider_attribution(response))
    summary["requests"] = client.requests_made
    summary["notices"] = list(client.notices)
    ok, failed = len(summary["endpoints"]), len(summary["errors"])
    summary["status"] = "ok" if not failed else ("partial" if ok else "error")
    origins: Counter = Counter()
    for entry in summary["endpoints"].values():
        origins.update(entry["origin"])
    how = ", ".join(f"{n} {o}" for o, n in sorted(origins.items())) or "nothing fetched"
    echo(f"catalog: {cls.title}: {ok} files ({how}; {client.requests_made} HTTP requests)")
    for endpoint, error in summary["errors"].items():
        echo(f"catalog: {cls.title}: {endpoint} failed: {error}")
    for notice in summary["notices"]:
        echo(f"catalog: {cls.title}: note: {notice}")
    return summary


async def snapshot_async(cfg: CatalogConfig, out_dir: Path, echo: Echo = print) -> Dict[str, Any]:
    """Written whole into a staging folder, then swapped in: a later snapshot on the same day
    leaves no file of an earlier one behind, and a failed one leaves the earlier one intact."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = out_dir.parent / f".{out_dir.name}.{os.getpid()}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        apis = list(registry.CLIENTS)
        results = await asyncio.gather(*(_snapshot_api(cfg, api, staging, echo) for api in apis))
        index = {
            "taken_at": now_iso(),
            "harness_version": __version__,
            "cache_dir": str(cache_root(cfg)),
            "apis": dict(zip(apis, results)),
            "attributions": [r["attribution"] for r in results if r["endpoints"]],
        }
        write_json_atomic(staging / INDEX, index)
        old = out_dir.parent / f".{out_dir.name}.{os.getpid()}.old"
        if out_dir.exists():
            out_dir.rename(old)
        staging.rename(out_dir)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return index


def take_snapshot(cfg: CatalogConfig, out_dir: Path, echo: Echo = print) -> Dict[str, Any]:
    """Fetch the configured endpoints of every enabled API into ``out_dir``; returns the index."""
    return asyncio.run(snapshot_async(cfg, Path(out_dir), echo))


def snapshot_dir(cfg: CatalogConfig, run: Optional[RunFolder]) -> Path:
    """``<run_dir>/catalog`` for an existing run, else ``<shared_dir>/<UTC date>``."""
    if run is not None and run.exists():
        return run.path / "catalog"
    return Path(cfg.shared_dir) / datetime.now(timezone.utc).strftime("%Y-%m-%d")


def cmd_catalog(cfg: CatalogConfig, run: Optional[RunFolder], model_name: Optional[str] = None,
                model_label: Optional[str] = None, model_ids: Optional[Mapping[str, str]] = None,
                echo: Echo = print) -> Path:
    """Take a snapshot, then match the run's model in each catalog; returns the snapshot folder.

    The model is the run's own (from its stored config) when ``run`` exists, else the one
    named here. Explicit ids: ``model_ids`` > the run's ``model.catalog_ids`` > ``cfg.model_ids``.
    """
    from .matching import describe, match_model

    out = snapshot_dir(cfg, run)
    if run is not None and not run.exists():
        why = "is not a run folder (no config.yaml)" if run.path.exists() else "does not exist"
        echo(f"catalog: run_dir {run.path} {why}: the snapshot goes to {out} instead")
    echo(f"catalog: snapshot into {out}")
    index = take_snapshot(cfg, out, echo)
    stored: Dict[str, Any] = {}
    if run is not None and run.exists():
        stored = run.stored_config().get("model") or {}
    name = stored.get("name") or model_name
    label = stored.get("label") or model_label
    ids = {**cfg.model_ids, **(stored.get("catalog_ids") or {}), **(model_ids or {})}
    if not name or is_offline(stored.get("provider") or name):
        echo("catalog: no model to match (the built-in mock model has no catalog entry)")
    else:
        matches = match_model(cfg, out, name, label, ids)
        write_json_atomic(out / MATCHES, {"model": name, "label": label, "matched_at": now_iso(),
                                          "matches": [m.as_dict() for m in matches]})
        for m in matches:
            echo("catalog: " + describe(m))
    if run is not None and run.exists():
        run.update_manifest(catalog_snapshot={"dir": str(out.relative_to(run.path)), "taken_at": index["taken_at"]})
    attributions = index["attributions"]
    if attributions:
        echo("catalog: when publishing, credit: " + "; ".join(attributions))
    tried = {api: s for api, s in index["apis"].items() if s.get("status") != "disabled"}
    if tried and not any(s.get("endpoints") for s in tried.values()):
        raise CatalogError("catalog", "no API could be fetched (" + "; ".join(
            f"{api}: {s.get('reason') or next(iter((s.get('errors') or {}).values()), s.get('status'))}"
            for api, s in tried.items()) + f"). The index of what was tried is in {out / INDEX}.")
    return out
