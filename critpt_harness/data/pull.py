"""`critpt-harness data pull|list`: the problem set and the official prompt files fetched where
there is a network, for compute nodes that have none; and what is cached and verified here.

``data pull`` fills the caches (or writes a folder, ``data.dir``) and prints the one line a node
runs with. ``data list`` reads only local files: the version files, the GitHub cache, the
Hugging Face cache (when huggingface_hub is installed) and the prompt cache.
"""

from __future__ import annotations

import shlex
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional

from ..config.overrides import quoted
from ..errors import DatasetError, PromptsError
from ..runfiles import write_json_atomic
from ..runs import default_cache_dir, now_iso
from . import versions
from .problems import SOURCE_FILE, ProblemSet
from .sets import load_full

if TYPE_CHECKING:
    from ..config import HarnessConfig

Echo = Callable[[str], None]


@dataclass
class Pulled:
    problems: ProblemSet
    line: str  # what a node runs with: environment and overrides


def _copy(files: List[Path], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for f in files:
        tmp = folder / f".{f.name}.tmp"
        shutil.copyfile(f, tmp)  # follows the Hugging Face cache's symlinks
        tmp.replace(folder / f.name)


def _problem_files(cfg: "HarnessConfig", problems: ProblemSet) -> List[Path]:
    """The files the set was read from (in the caches, or the given folder)."""
    kind = cfg.dataset.kind
    version = versions.get(cfg.dataset.version)
    if kind == "huggingface":
        from .hub import download

        return download(cfg.dataset, version)[0]
    if kind == "github":
        from .github import cache_folder, file_names

        folder = cache_folder(cfg.dataset, version)
        return [folder / n for n in file_names(version)]
    folder = Path(cfg.dataset.path or "").expanduser()
    return sorted(p for p in folder.iterdir() if p.suffix in (".json", ".parquet") and p.name != SOURCE_FILE)


def pull(cfg: "HarnessConfig", echo: Echo = print) -> Pulled:
    from . import official_prompts

    dataset = replace(cfg.dataset, ids=[], limit=None)
    problems = load_full(dataset)
    origin = problems.origin
    assert origin is not None
    at = f" at {origin.revision}" if origin.revision else ""
    echo(f"problems: {len(problems)} of CritPt {origin.version} from {origin.source}{at}, "
         + ("verified" if origin.verified else "UNVERIFIED (dataset.verify=false)"))
    prompts = None
    if cfg.data.prompts and cfg.prompts.source == "official":
        prompt_cfg = replace(cfg.prompts, cache_dir=cfg.data.dir) if cfg.data.dir else cfg.prompts
        text = official_prompts.load(prompt_cfg)
        prompts = official_prompts.cache_folder(prompt_cfg) if not cfg.prompts.path else Path(cfg.prompts.path)
        echo(f"official prompt text: {text.origin}, verified")
    env = ["CRITPT_HARNESS_OFFLINE=1"]
    args = [f"dataset.version={quoted(str(origin.version))}"]
    if cfg.data.dir:
        folder = Path(cfg.data.dir).expanduser() / f"critpt-{origin.version}"
        _copy(_problem_files(cfg, problems), folder)
        write_json_atomic(folder / SOURCE_FILE, {**origin.manifest(problems), "pulled_at": now_iso()})
        args += [f"dataset.path={quoted(str(folder))}"] + ([] if origin.verified else ["dataset.verify=false"])
        echo(f"wrote {folder}")
    elif origin.source == "huggingface":
        from huggingface_hub import constants

        env[:0] = [f"HF_HUB_CACHE={constants.HF_HUB_CACHE}", "HF_HUB_OFFLINE=1"]
        args += ["dataset.source=huggingface", f"dataset.revision={quoted(str(origin.revision))}"] + (
            [] if origin.verified else ["dataset.verify=false"])
    elif origin.source == "github":
        cache = Path(cfg.dataset.cache_dir or default_cache_dir()).expanduser()
        args += [f"dataset.cache_dir={quoted(str(cache))}"] + ([] if origin.verified else ["dataset.verify=false"])
        args += [f"dataset.url_template={quoted(cfg.dataset.url_template)}"] if cfg.dataset.url_template else []
    else:
        args += [f"dataset.path={quoted(str(origin.location))}"]
    if prompts is not None:
        args.append(f"prompts.path={quoted(str(prompts))}")
    # Each value quoted for Hydra, each argument for the shell: the line runs as printed.
    return Pulled(problems, f"{shlex.join(env)} critpt-harness run {shlex.join(args)}")


# ------------------------------------------------------------------ data list

def _github_state(cfg: "HarnessConfig", version: versions.BenchmarkVersion) -> Optional[str]:
    from .github import cache_folder, check_file, file_names

    if version.github is None:
        return None
    try:
        folder = cache_folder(cfg.dataset, version)
    except DatasetError:
        return None
    names = file_names(version)
    present = [n for n in names if (folder / n).is_file()]
    if not present:
        return f"GitHub {version.github.commit[:12]}: not cached ({folder})"
    good = [n for n in present if not check_file(version, n, (folder / n).read_bytes(), n)]
    state = "verified" if len(good) == len(names) else f"{len(good)} verified"
    return f"GitHub {version.github.commit[:12]}: {len(present)} of {len(names)} files cached in {folder}, {state}"


def _hub_revisions(repo_id: str) -> List[Dict[str, Any]]:
    """Revisions of the dataset in huggingface_hub's cache, each with its parquet files."""
    try:
        from huggingface_hub import scan_cache_dir
        from huggingface_hub.errors import CacheNotFound
    except ImportError:
        return []
    try:
        info = scan_cache_dir()
    except (CacheNotFound, OSError):
        return []
    out = []
    for repo in info.repos:
        if repo.repo_id == repo_id and repo.repo_type == "dataset":
            for rev in repo.revisions:
                files = sorted(Path(f.file_path) for f in rev.files if f.file_name.endswith(".parquet"))
                if files:
                    out.append({"commit": rev.commit_hash, "refs": sorted(rev.refs), "files": files})
    return out


def _which(files: List[Path]) -> str:
    """Which known version a cached table is, by its checksums."""
    from .parquet import read_tables

    try:
        rows = [r for r in read_tables(files) if (r.get("problem_type") or "main") == "main"]
    except DatasetError as exc:
        return f"unreadable ({exc})"
    for v in versions.known_versions():
        if v.known and v.check(rows, "", verify=False)[0]:
            return f"{len(rows)} problems, verified as CritPt {v.name}"
    return f"{len(rows)} problems, not a version this tool knows (usable with dataset.verify=false)"


def listing(cfg: "HarnessConfig") -> List[str]:
    from . import official_prompts

    lines = [f"CritPt versions (* = dataset.version={cfg.dataset.version}):"]
    repos = set()
    for v in versions.known_versions():
        size = f"{len(v.problem_ids or [])} problems" if v.known else "problems not known to this tool"
        lines.append(f"{'*' if v.name == cfg.dataset.version else ' '} {v.name:<4} {v.title} ({size}; {v.file})")
        github = _github_state(cfg, v)
        if github:
            lines.append(f"       {github}")
        if v.huggingface is not None:
            repos.add(v.huggingface.repo_id)
            known = v.huggingface.revision
            lines.append(f"       Hugging Face {v.huggingface.repo_id}: "
                         + (f"known revision {known}" if known else "no known revision (dataset.revision=...)"))
    for repo in sorted(repos):
        for rev in _hub_revisions(repo):
            refs = f" ({', '.join(rev['refs'])})" if rev["refs"] else ""
            lines.append(f"  cached: Hugging Face {repo} at {rev['commit']}{refs}: {_which(rev['files'])}")
    folder = official_prompts.cache_folder(cfg.prompts)
    try:
        found = {n: (folder / n).read_bytes() for n in official_prompts.FILES if (folder / n).is_file()}
        for name, content in found.items():
            official_prompts.verify(name, content, str(folder / name))
        state = (f"cached in {folder}, verified (commit {official_prompts.COMMIT[:12]})"
                 if len(found) == len(official_prompts.FILES) else f"not cached ({folder})")
    except PromptsError as exc:
        state = f"damaged in the cache ({exc})"
    lines.append(f"official prompt text: {state}")
    return lines

