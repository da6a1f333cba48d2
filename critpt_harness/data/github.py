"""The GitHub source: a version's Challenge_N.json files at its pinned commit, downloaded once,
verified file by file and cached (``dataset.cache_dir`` / ``$CRITPT_HARNESS_CACHE``)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from dataclasses import replace
from pathlib import Path
from typing import List, Optional

from ..config import DatasetConfig
from ..errors import DatasetError
from ..failures import HTTPStatusError, unreachable
from ..http import async_client, get_bytes
from ..retry import RetryPolicy
from ..runfiles import write_text_atomic
from ..runs import canonical_sha256, default_cache_dir
from .problems import Origin, ProblemSet, load_directory
from .versions import BenchmarkVersion

log = logging.getLogger(__name__)


def url_template(cfg: DatasetConfig, version: BenchmarkVersion) -> str:
    if cfg.url_template:
        return cfg.url_template
    if version.github is None:
        raise DatasetError(f"{version.label} has no known GitHub commit: use dataset.source=huggingface "
                           "dataset.revision=<commit or branch>, dataset.path=<a copy>, or dataset.url_template=...")
    return version.github.url_template()


def cache_folder(cfg: DatasetConfig, version: BenchmarkVersion) -> Path:
    root = Path(cfg.cache_dir) if cfg.cache_dir else default_cache_dir()
    tag = hashlib.sha256(url_template(cfg, version).encode()).hexdigest()[:12]
    return root / "datasets" / f"public-{tag}"


def file_names(version: BenchmarkVersion) -> List[str]:
    return [f"Challenge_{i.split('_')[1]}.json" for i in version.problem_ids or ()]


def check_file(version: BenchmarkVersion, name: str, content: bytes, source: str) -> Optional[str]:
    """Why the file is not the version's (None when it is); raises when it is not JSON at all."""
    expected = (version.github.file_sha256 if version.github else {}).get(name)
    try:
        actual = canonical_sha256(json.loads(content))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{source}: not valid JSON ({exc})") from exc
    if expected == actual:
        return None
    commit = version.github.commit[:12] if version.github else "?"
    return (f"{source}: content does not match the pinned CritPt commit {commit} of {version.label} "
            f"(sha256 {actual[:12]}, expected {str(expected)[:12]}). Check dataset.url_template, "
            "or set dataset.verify=false to accept a modified copy (labelled unverified).")


async def _download_all(cfg: DatasetConfig, version: BenchmarkVersion, folder: Path, names: List[str]) -> None:
    import httpx  # only when downloading: a local or cached set needs no HTTP client

    policy = RetryPolicy.from_config(cfg.retry, permanent=unreachable)  # offline: say so at once
    limit = asyncio.Semaphore(8)
    template = url_template(cfg, version)

    async def one(client: "httpx.AsyncClient", name: str) -> None:
        url = template.format(name=name)
        async with limit:
            try:
                content = await get_bytes(client, url, policy)
            except HTTPStatusError as exc:
                raise DatasetError(
                    f"downloading {url} failed with HTTP {exc.status_code}. Check dataset.url_template, "
                    "or pass dataset.path=<folder with Challenge_N.json>."
                ) from exc
            except httpx.TransportError as exc:
                raise DatasetError(
                    f"cannot download the CritPt public set from {url} ({type(exc).__name__}: {exc}). "
                    f"You may be offline. {OFFLINE_HOW}"
                ) from exc
        problem = check_file(version, name, content, url)
        if problem and cfg.verify:
            raise DatasetError(problem)
        write_text_atomic(folder / name, content.decode("utf-8"))

    async with async_client(timeout=cfg.download_timeout) as client:
        await asyncio.gather(*(one(client, n) for n in names))


# Offline, both downloads need a local copy, in the order they are loaded; the problems alone would
# leave the prompts to the tool's paraphrase (the mock) or to a second error (any other model).
OFFLINE_HOW = ("With a clone of github.com/CritPt-Benchmark/CritPt, pass dataset.path=<clone>/data/"
               "public_test_challenges/json (the problems) and prompts.path=<clone>/templates (the official "
               "prompt text; without it the offline mock uses the tool's paraphrased prompts, not comparable "
               "to published scores); or run `critpt-harness data pull` where there is a network.")


def missing_files(cfg: DatasetConfig, version: BenchmarkVersion, folder: Path) -> List[str]:
    """The version's files not in the cache (or, verifying, damaged there)."""
    todo = []
    for name in file_names(version):
        path = folder / name
        if not path.exists():
            todo.append(name)
        elif cfg.verify and check_file(version, name, path.read_bytes(), str(path)):
            log.warning("cached %s is damaged; downloading it again", path)
            todo.append(name)
    return todo


def load_github(cfg: DatasetConfig, version: BenchmarkVersion) -> ProblemSet:
    """The version's set from the cache, or downloaded (and verified) once."""
    if not version.known:
        version.check_ids([], f"dataset.source=github ({version.label})")  # refuses, saying why
    template = url_template(cfg, version)
    folder = cache_folder(cfg, version)
    folder.mkdir(parents=True, exist_ok=True)
    todo = missing_files(cfg, version, folder)
    if todo:
        from ..config import is_local_url
        from ..http import OFFLINE_ENV, offline

        if offline() and not is_local_url(template):
            raise DatasetError(f"{len(todo)} CritPt problem files are not cached in {folder} and {OFFLINE_ENV} is "
                               f"set, so nothing is downloaded. {OFFLINE_HOW}")
        log.info("downloading %d CritPt problem files into %s", len(todo), folder)
        asyncio.run(_download_all(cfg, version, folder, todo))
    loaded = load_directory(folder, checkpoints=cfg.checkpoints, version=version, check_ids=cfg.verify)
    files_ok = not any(check_file(version, n, (folder / n).read_bytes(), n) for n in file_names(version)
                       if (folder / n).exists())
    verified, differ = version.check([p.model_dump() for p in loaded.problems], template, verify=False)
    commit = version.github.commit if version.github and not cfg.url_template else None
    origin = Origin("github", version.name, commit, verified=verified and files_ok, differ=tuple(differ),
                    location=template)
    return replace(loaded, source=f"{template} (cached in {folder})", origin=origin)

