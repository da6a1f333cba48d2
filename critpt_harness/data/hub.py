"""The Hugging Face source: the dataset's parquet at a pinned revision, through huggingface_hub
(its cache, ``HF_HOME``/``HF_HUB_CACHE``, ``HF_HUB_OFFLINE=1``, ``HF_ENDPOINT`` for mirrors, its
token for a gated copy), read by parquet.py and checked against the version's checksums.
huggingface_hub is imported only here, when a Hugging Face set is loaded.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import List, Optional, Tuple

from ..config import DatasetConfig, is_local_url
from ..errors import DatasetError
from ..http import OFFLINE_ENV, offline
from .parquet import read_tables, require
from .problems import Origin, ProblemSet, _hashed, problems_from_rows
from .versions import COMMIT_HASH, BenchmarkVersion, HubRelease

log = logging.getLogger(__name__)

def _release(version: BenchmarkVersion) -> HubRelease:
    return version.huggingface or HubRelease(repo_id="CritPt-Benchmark/CritPt")


def _local_only() -> bool:
    """huggingface_hub honours HF_HUB_OFFLINE itself; the harness's own switch stops it too
    (a mirror on this machine excepted)."""
    from huggingface_hub import constants

    return offline() and not is_local_url(constants.ENDPOINT)


def _explain(exc: BaseException, repo: str, revision: str, filename: str) -> DatasetError:
    from huggingface_hub import constants
    from huggingface_hub import errors as hub

    where = f"Hugging Face dataset {repo} at revision {revision} ({constants.ENDPOINT})"
    if isinstance(exc, hub.RevisionNotFoundError):
        text = (f"{where}: no such revision (HTTP 404). dataset.revision takes a commit hash, or a branch or tag "
                "name (resolved once, the hash recorded).")
    elif isinstance(exc, hub.GatedRepoError) or isinstance(exc, hub.RepositoryNotFoundError):
        text = (f"{where}: the repository is gated, private or absent for this account. Accept its terms on the Hub "
                "and set HF_TOKEN (or `hf auth login`), or check HF_ENDPOINT.")
    elif isinstance(exc, hub.RemoteEntryNotFoundError):
        text = f"{where} has no file {filename}: that revision's layout is not the one this version describes."
    elif isinstance(exc, (hub.LocalEntryNotFoundError, hub.OfflineModeIsEnabled)):
        switch = "HF_HUB_OFFLINE" if constants.is_offline_mode() else OFFLINE_ENV
        text = (f"{where}: {filename} is not in the Hugging Face cache ({constants.HF_HUB_CACHE}) and {switch} is "
                "set (or the Hub cannot be reached), so nothing is downloaded. Pull it where there is a network "
                "(`critpt-harness data pull dataset.source=huggingface ...`) into a cache this node sees (HF_HOME).")
    else:
        text = (f"{where}: downloading {filename} failed ({type(exc).__name__}: {str(exc).strip()[:300]}). "
                "Check your network, HF_ENDPOINT and dataset.revision, or use dataset.source=github.")
    return DatasetError(text)


def resolve(cfg: DatasetConfig, version: BenchmarkVersion) -> Tuple[str, Optional[str]]:
    """(commit hash, the branch or tag it was resolved from)."""
    release = _release(version)
    wanted = cfg.revision or release.revision
    if not wanted:
        raise DatasetError(f"{version.label} has no known Hugging Face revision: pass dataset.revision=<a commit "
                           f"hash of {release.repo_id}, or a branch such as main> (`critpt-harness data list` shows "
                           "what is cached).")
    if COMMIT_HASH.match(wanted):
        return wanted, None
    from huggingface_hub import hf_hub_download
    from huggingface_hub import errors as hub

    try:
        info = hf_hub_download(release.repo_id, release.files[0], repo_type="dataset", revision=wanted,
                               dry_run=True, local_files_only=_local_only())
    except (hub.HfHubHTTPError, hub.LocalEntryNotFoundError, hub.OfflineModeIsEnabled, OSError) as exc:
        raise _explain(exc, release.repo_id, wanted, release.files[0]) from exc
    commit = getattr(info, "commit_hash", None)
    if not commit:
        raise DatasetError(f"Hugging Face dataset {release.repo_id}: revision {wanted} did not resolve to a commit")
    log.info("Hugging Face %s: revision %s is commit %s", release.repo_id, wanted, commit)
    return commit, wanted


def download(cfg: DatasetConfig, version: BenchmarkVersion) -> Tuple[List[Path], str, Optional[str]]:
    """The version's files at the revision, from huggingface_hub's cache or downloaded into it."""
    require()
    from huggingface_hub import hf_hub_download
    from huggingface_hub import errors as hub

    release = _release(version)
    commit, requested = resolve(cfg, version)
    paths = []
    for name in release.files:
        try:
            paths.append(Path(hf_hub_download(release.repo_id, name, repo_type="dataset", revision=commit,
                                              local_files_only=_local_only())))
        except (hub.HfHubHTTPError, hub.LocalEntryNotFoundError, hub.OfflineModeIsEnabled, OSError) as exc:
            raise _explain(exc, release.repo_id, commit, name) from exc
    return paths, commit, requested


def load_hub(cfg: DatasetConfig, version: BenchmarkVersion) -> ProblemSet:
    from huggingface_hub import constants

    paths, commit, requested = download(cfg, version)
    repo = _release(version).repo_id
    where = f"Hugging Face dataset {repo} at revision {commit}"
    rows = read_tables(paths)
    mains = [r for r in rows if (r.get("problem_type") or "main") == "main"]  # a version lists main problems
    verified, differ = version.check(mains, where, verify=cfg.verify)
    problems = [p for p in problems_from_rows(rows, where) if cfg.checkpoints or p.problem_type == "main"]
    if not verified:
        log.warning("%s is not verified as %s (dataset.verify=false): every label says 'unverified revision %s'",
                    where, version.label, commit[:12])
    origin = Origin("huggingface", version.name, commit, requested, verified, tuple(differ),
                    f"{constants.ENDPOINT}/datasets/{repo}")
    return _hashed(problems, f"huggingface {repo}@{commit[:12]} (cached in {paths[0].parent})", True, origin)
